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

/// <summary>
/// Query → document retrieval: every query ranks all documents by cosine and should find its own. Queries take the
/// model's "query" prompt and documents its "document" prompt (none for a model without prompts), as a search
/// application would use the model; <see cref="Run"/> can leave them out to measure what they are worth.
/// </summary>
public sealed class RetrievalEvaluation
{
    private readonly int _count;

    public RetrievalEvaluation(IReadOnlyList<QueryDocument> items)
    {
        if (items.Count == 0) throw new RepShiftException("no queries to evaluate");
        _count = items.Count;
        Queries = [.. items.Select(x => x.Query)];
        Documents = [.. items.Select(x => x.Document)];
        Texts = [.. Queries, .. Documents];
    }

    /// <summary>All queries, then all documents in the same order: what gets embedded.</summary>
    public IReadOnlyList<string> Texts { get; }

    /// <summary>The queries (the first half of <see cref="Texts"/>).</summary>
    public IReadOnlyList<string> Queries { get; }

    /// <summary>The documents (the second half of <see cref="Texts"/>).</summary>
    public IReadOnlyList<string> Documents { get; }

    /// <summary>
    /// Embeds queries (with the "query" prompt unless <paramref name="prompts"/> is false) and documents (with the
    /// "document" prompt), then scores; <paramref name="progress"/> counts texts over both halves.
    /// </summary>
    public RetrievalReport Run(TextEmbedder embedder, IProgress<int>? progress = null, CancellationToken cancellation = default, bool prompts = true)
    {
        var clock = Stopwatch.StartNew();
        var queries = embedder.Embed(Queries, progress, cancellation, prompt: prompts ? "query" : null);
        var offset = progress == null ? null : new Progress<int>(n => progress.Report(_count + n));
        var documents = embedder.Embed(Documents, offset, cancellation, prompt: prompts ? "document" : null);
        double seconds = clock.Elapsed.TotalSeconds;
        var both = new EmbeddingResult([.. queries.Vectors, .. documents.Vectors], [.. queries.Tokens, .. documents.Tokens], [.. queries.TokenLayers, .. documents.TokenLayers], queries.Truncated + documents.Truncated);
        return new RetrievalReport(RetrievalMetrics.Score(queries.Vectors, documents.Vectors), queries.TotalTokens, documents.TotalTokens, EmbeddingWork.Of(both, seconds))
        {
            QueryVectors = queries.Vectors,
            DocumentVectors = documents.Vectors,
        };
    }
}
