using RepShift.Models;
using RepShift.Text;
using RepShift.Tokens;

namespace RepShift.Compression;

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
/// <see cref="BertEncoder.Trace"/>: a token is removed after the reduction where its position stops being
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

    /// <summary>Traces <paramref name="text"/> under <paramref name="plan"/> (default: the embedder's own compression plan).</summary>
    public static TokenFateReport Trace(TextEmbedder embedder, string text, CompressionPlan? plan = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!embedder.Tokenizer.HasWordPieces(text))
            throw new RepShiftException("the text is empty: it has no word pieces (only whitespace or characters the tokenizer drops, such as control characters), so there is nothing to show; give it some words");
        if (plan != null && !ReferenceEquals(plan, embedder.Options.Compression)) plan.Validate(embedder.Encoder.Config.Layers, embedder.ModelName);
        var tokenized = embedder.Tokenize(text);
        return Trace(embedder.Encoder, embedder.Tokenizer, tokenized.Ids, plan ?? embedder.Options.Compression, tokenized.Truncated);
    }

    /// <summary>Traces one sequence of ids (wrapped in [CLS] … [SEP]) under a plan already validated for <paramref name="encoder"/>.</summary>
    public static TokenFateReport Trace(BertEncoder encoder, BertTextTokenizer tokenizer, int[] ids, CompressionPlan plan, bool truncated = false)
    {
        if (plan.IsDense)
            throw new RepShiftException("the compression plan is dense, so no token is scored or removed: give --preset, --plan or --prune-at (e.g. --prune-at 1 --keep 0.5)");
        int n = ids.Length;
        int[] reductions = [.. plan.PruneAt.Order()];
        var scores = new float[n][];
        for (int p = 0; p < n; p++) scores[p] = [.. Enumerable.Repeat(float.NaN, reductions.Length)];
        var fate = new TokenFateKind[n];
        var removedAt = new int?[n];
        var size = Enumerable.Repeat(1f, n).ToArray();
        var alive = Enumerable.Repeat(true, n).ToArray();
        var present = new bool[n];
        var protectedRow = new bool[n];
        var removal = plan.Mode switch
        {
            ReduceMode.Drop => TokenFateKind.Dropped,
            ReduceMode.Fuse => TokenFateKind.Fused,
            _ => TokenFateKind.Merged,
        };
        int tokenLayers = n, finalRows = n;
        encoder.Trace([ids], plan,
            afterLayer: (layer, batch) =>
            {
                // The rows after layer l are the ones layer l + 1 processes.
                if (layer + 1 < encoder.Config.Layers) tokenLayers += batch.Count;
                else finalRows = batch.Count;
                if (Array.IndexOf(reductions, layer) < 0) return;
                Array.Clear(present);
                for (int row = 0; row < batch.Count; row++)
                {
                    if (batch.Origin[row] < 0) continue;
                    present[batch.Origin[row]] = true;
                    size[batch.Origin[row]] = batch.Size[row];
                }
                for (int p = 0; p < n; p++)
                {
                    if (!alive[p] || present[p]) continue;
                    alive[p] = false;
                    fate[p] = removal;
                    removedAt[p] = layer;
                }
            },
            // Every token is still present at the first reduction, so each gets its protected flag there.
            beforeReduction: (layer, batch) =>
            {
                int k = Array.IndexOf(reductions, layer);
                for (int row = 0; row < batch.Count; row++)
                {
                    int origin = batch.Origin[row];
                    if (origin < 0) continue;
                    scores[origin][k] = batch.Score[row];
                    size[origin] = batch.Size[row];
                    protectedRow[origin] = batch.Protected[row];
                }
            });

        var tokens = new TokenFate[n];
        for (int p = 0; p < n; p++)
            tokens[p] = new TokenFate(p, ids[p], tokenizer.TokenText(ids[p]), protectedRow[p], scores[p], fate[p], removedAt[p], size[p]);
        return new TokenFateReport(tokens, reductions, encoder.Config.Layers, tokenLayers, finalRows, truncated, plan);
    }
}
