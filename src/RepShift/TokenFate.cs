using RepShift.Compression;
using RepShift.Tokens;

namespace RepShift;

/// <summary>What became of an input token under a compression plan.</summary>
public enum TokenFateKind
{
    /// <summary>It reached the last layer as its own row (possibly standing for tokens merged into it).</summary>
    Kept,

    /// <summary>Removed by a drop reduction.</summary>
    Dropped,

    /// <summary>Averaged into a more similar token (ToMe).</summary>
    Merged,

    /// <summary>Folded into the sequence's one fused token (EViT).</summary>
    Fused,
}

/// <summary>One input token traced through the encoder.</summary>
/// <param name="Position">Index in the model input ([CLS] is 0).</param>
/// <param name="TokenId">Its vocabulary id.</param>
/// <param name="Token">Its vocabulary entry ("fox", "##s", "[CLS]").</param>
/// <param name="Protected">Whether compression must keep it ([CLS], [SEP]).</param>
/// <param name="Scores">Its score at each of <see cref="TokenFateReport.ReductionLayers"/>; NaN once it is gone.</param>
/// <param name="Fate">Kept, or how it was removed.</param>
/// <param name="Layer">The layer after which it was removed; null when kept.</param>
/// <param name="Size">Input tokens its row stood for when last seen (more than 1 once others were merged into it).</param>
public sealed record TokenFate(int Position, int TokenId, string Token, bool Protected, float[] Scores, TokenFateKind Fate, int? Layer, float Size);

/// <summary>
/// Every input token of one text with its score at each reduction and where it was removed, read off
/// an encoder's trace (<see cref="TokenFateRecorder"/>): a token is removed after the reduction where its position stops being
/// the <see cref="TokenBatch.Origin"/> of any row (a merge keeps the destination's origin; a fused row has none).
/// </summary>
/// <param name="Tokens">Every input token, in input order.</param>
/// <param name="ReductionLayers">The layers after which the plan reduces, ascending; the columns of each token's scores.</param>
/// <param name="Layers">The model's layer count.</param>
/// <param name="TokenLayers">Rows processed, summed over layers (as <see cref="EmbeddingResult.TokenLayers"/> counts them).</param>
/// <param name="FinalRows">Rows the last layer processed: the kept tokens, plus the fused token under fuse.</param>
/// <param name="Truncated">Whether the text was cut to the embedder's maximum length.</param>
/// <param name="Plan">The plan traced.</param>
public sealed record TokenFateReport(IReadOnlyList<TokenFate> Tokens, int[] ReductionLayers, int Layers, int TokenLayers, int FinalRows, bool Truncated, CompressionPlan Plan)
{
    public int InputTokens => Tokens.Count;

    public int Kept => Tokens.Count(t => t.Fate == TokenFateKind.Kept);

    /// <summary>Token-layers processed as a share of the dense encoder's (input tokens × layers).</summary>
    public double WorkShare => TokenLayers / (double)(InputTokens * Layers);
}

/// <summary>
/// Builds a <see cref="TokenFateReport"/> from an encoder's trace of one sequence: give
/// <see cref="AfterLayer"/> and <see cref="BeforeReduction"/> to the encoder's Trace, then call <see cref="Report"/>.
/// </summary>
public sealed class TokenFateRecorder
{
    private readonly int[] _ids;
    private readonly CompressionPlan _plan;
    private readonly int _layers;
    private readonly int[] _reductions;
    private readonly float[][] _scores;
    private readonly TokenFateKind[] _fate;
    private readonly int?[] _removedAt;
    private readonly float[] _size;
    private readonly bool[] _alive, _present, _protected;
    private readonly TokenFateKind _removal;
    private int _tokenLayers, _finalRows;

    /// <param name="ids">The sequence traced, [CLS] … [SEP].</param>
    /// <param name="plan">The plan it runs under, already validated for the model.</param>
    /// <param name="layers">The model's layer count.</param>
    public TokenFateRecorder(int[] ids, CompressionPlan plan, int layers)
    {
        if (plan.IsDense)
            throw new RepShiftException("the compression plan is dense, so no token is scored or removed: give --preset, --plan or --prune-at (e.g. --prune-at 1 --keep 0.5)");
        int n = ids.Length;
        _ids = ids;
        _plan = plan;
        _layers = layers;
        _reductions = [.. plan.PruneAt.Order()];
        _scores = new float[n][];
        for (int p = 0; p < n; p++) _scores[p] = [.. Enumerable.Repeat(float.NaN, _reductions.Length)];
        _fate = new TokenFateKind[n];
        _removedAt = new int?[n];
        _size = [.. Enumerable.Repeat(1f, n)];
        _alive = [.. Enumerable.Repeat(true, n)];
        _present = new bool[n];
        _protected = new bool[n];
        _removal = plan.Mode switch
        {
            ReduceMode.Drop => TokenFateKind.Dropped,
            ReduceMode.Fuse => TokenFateKind.Fused,
            _ => TokenFateKind.Merged,
        };
        _tokenLayers = n;
        _finalRows = n;
    }

    /// <summary>The batch after layer <paramref name="layer"/> and its reduction.</summary>
    public void AfterLayer(int layer, TokenBatch batch)
    {
        // The rows after layer l are the ones layer l + 1 processes.
        if (layer + 1 < _layers) _tokenLayers += batch.Count;
        else _finalRows = batch.Count;
        if (Array.IndexOf(_reductions, layer) < 0) return;
        Array.Clear(_present);
        for (int row = 0; row < batch.Count; row++)
        {
            if (batch.Origin[row] < 0) continue;
            _present[batch.Origin[row]] = true;
            _size[batch.Origin[row]] = batch.Size[row];
        }
        for (int p = 0; p < _ids.Length; p++)
        {
            if (!_alive[p] || _present[p]) continue;
            _alive[p] = false;
            _fate[p] = _removal;
            _removedAt[p] = layer;
        }
    }

    /// <summary>The scored batch of a reduction layer before rows are removed.</summary>
    public void BeforeReduction(int layer, TokenBatch batch)
    {
        // Every token is still present at the first reduction, so each gets its protected flag there.
        int k = Array.IndexOf(_reductions, layer);
        for (int row = 0; row < batch.Count; row++)
        {
            int origin = batch.Origin[row];
            if (origin < 0) continue;
            _scores[origin][k] = batch.Score[row];
            _size[origin] = batch.Size[row];
            _protected[origin] = batch.Protected[row];
        }
    }

    /// <summary>The report, with each token's text from <paramref name="tokenText"/>.</summary>
    public TokenFateReport Report(Func<int, string> tokenText, bool truncated = false)
    {
        var tokens = new TokenFate[_ids.Length];
        for (int p = 0; p < _ids.Length; p++)
            tokens[p] = new TokenFate(p, _ids[p], tokenText(_ids[p]), _protected[p], _scores[p], _fate[p], _removedAt[p], _size[p]);
        return new TokenFateReport(tokens, _reductions, _layers, _tokenLayers, _finalRows, truncated, _plan);
    }
}
