using System.Diagnostics;

namespace RepShift.Evaluation;

/// <summary>Result of <see cref="RetrievalEvaluation"/>; <see cref="QueryTokens"/> and <see cref="DocumentTokens"/> split <see cref="EmbeddingWork.Tokens"/>.</summary>
public sealed record RetrievalReport(RetrievalScores Scores, long QueryTokens, long DocumentTokens, EmbeddingWork Work)
{
    /// <summary>The query vectors scored, for re-scoring at other dimensions and encodings (<see cref="EncodedRetrieval"/>).</summary>
    public IReadOnlyList<float[]> QueryVectors { get; init; } = [];

    /// <summary>The document vectors scored, in the same order as the queries.</summary>
    public IReadOnlyList<float[]> DocumentVectors { get; init; } = [];
}

/// <summary>Query → document retrieval: every query ranks all documents by cosine and should find its own.</summary>
public sealed class RetrievalEvaluation
{
    private readonly int _count;

    public RetrievalEvaluation(IReadOnlyList<QueryDocument> items)
    {
        if (items.Count == 0) throw new RepShiftException("no queries to evaluate");
        _count = items.Count;
        // One Embed call for both halves gives one progress count; an embedding does not depend on its batch, so mixing changes nothing.
        var texts = new List<string>(2 * items.Count);
        texts.AddRange(items.Select(x => x.Query));
        texts.AddRange(items.Select(x => x.Document));
        Texts = texts;
    }

    /// <summary>All queries, then all documents in the same order: what gets embedded.</summary>
    public IReadOnlyList<string> Texts { get; }

    public RetrievalReport Run(TextEmbedder embedder, IProgress<int>? progress = null, CancellationToken cancellation = default)
    {
        var clock = Stopwatch.StartNew();
        var result = embedder.Embed(Texts, progress, cancellation);
        double seconds = clock.Elapsed.TotalSeconds;
        var queries = new ArraySegment<float[]>(result.Vectors, 0, _count);
        var documents = new ArraySegment<float[]>(result.Vectors, _count, _count);
        long queryTokens = 0;
        for (int i = 0; i < _count; i++) queryTokens += result.Tokens[i];
        return new RetrievalReport(RetrievalMetrics.Score(queries, documents), queryTokens, result.TotalTokens - queryTokens, EmbeddingWork.Of(result, seconds))
        {
            QueryVectors = queries,
            DocumentVectors = documents,
        };
    }
}
