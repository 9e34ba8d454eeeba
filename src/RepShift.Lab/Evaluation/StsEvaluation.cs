using System.Diagnostics;
using System.Numerics.Tensors;

namespace RepShift.Evaluation;

/// <summary>Result of <see cref="StsEvaluation"/>: Spearman's ρ in [−1, 1] between cosine similarity and the human scores.</summary>
public sealed record StsReport(double Spearman, int Pairs, int Sentences, EmbeddingWork Work);

/// <summary>
/// Semantic textual similarity: embeds each distinct sentence once (SICK's 9,927 pairs hold 6,077),
/// then correlates the pairs' cosine similarities with the human scores.
/// </summary>
public sealed class StsEvaluation
{
    private readonly IReadOnlyList<ScoredPair> _pairs;
    private readonly int[] _a, _b;

    public StsEvaluation(IReadOnlyList<ScoredPair> pairs)
    {
        if (pairs.Count < 2) throw new RepShiftException($"a correlation needs at least 2 sentence pairs, got {pairs.Count}");
        _pairs = pairs;
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var sentences = new List<string>();
        _a = new int[pairs.Count];
        _b = new int[pairs.Count];
        for (int i = 0; i < pairs.Count; i++)
        {
            _a[i] = IndexOf(pairs[i].SentenceA);
            _b[i] = IndexOf(pairs[i].SentenceB);
        }
        Sentences = sentences;

        int IndexOf(string sentence)
        {
            if (!index.TryGetValue(sentence, out int id))
            {
                id = sentences.Count;
                index.Add(sentence, id);
                sentences.Add(sentence);
            }
            return id;
        }
    }

    /// <summary>The distinct sentences, in order of first appearance: what gets embedded.</summary>
    public IReadOnlyList<string> Sentences { get; }

    /// <summary>Embeds <see cref="Sentences"/> (<paramref name="progress"/> counts them) and scores the pairs.</summary>
    public StsReport Run(TextEmbedder embedder, IProgress<int>? progress = null, CancellationToken cancellation = default)
    {
        var clock = Stopwatch.StartNew();
        var result = embedder.Embed(Sentences, progress, cancellation);
        double seconds = clock.Elapsed.TotalSeconds;
        return new StsReport(Score(result.Vectors), _pairs.Count, Sentences.Count, EmbeddingWork.Of(result, seconds));
    }

    /// <summary>Spearman's ρ given one vector per entry of <see cref="Sentences"/>.</summary>
    public double Score(IReadOnlyList<float[]> sentenceVectors)
    {
        if (sentenceVectors.Count != Sentences.Count) throw new ArgumentException($"{sentenceVectors.Count} vectors for {Sentences.Count} sentences");
        var unit = UnitVectors.From(sentenceVectors, "sentence vector");
        var cosines = new double[_pairs.Count];
        var gold = new double[_pairs.Count];
        for (int i = 0; i < cosines.Length; i++)
        {
            cosines[i] = TensorPrimitives.Dot(unit[_a[i]], unit[_b[i]]);
            gold[i] = _pairs[i].Score;
        }
        return RankCorrelation.Spearman(cosines, gold);
    }
}
