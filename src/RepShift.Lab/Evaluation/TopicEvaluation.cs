using System.Diagnostics;

namespace RepShift.Evaluation;

/// <summary>Result of <see cref="TopicEvaluation"/>: leave-one-out k-NN accuracy in [0, 1].</summary>
public sealed record TopicReport(double Accuracy, int Documents, int Labels, int K, EmbeddingWork Work);

/// <summary>Topic classification: each document's label predicted from its k nearest other documents.</summary>
public sealed class TopicEvaluation
{
    private readonly IReadOnlyList<LabelledText> _docs;
    private readonly int _k;

    public TopicEvaluation(IReadOnlyList<LabelledText> documents, int k = 5)
    {
        if (k < 1 || k > documents.Count - 1)
            throw new RepShiftException($"--k {k} is out of range: leave-one-out over {documents.Count} documents allows 1 to {documents.Count - 1} neighbours");
        _docs = documents;
        _k = k;
        Texts = documents.Select(d => d.Text).ToList();
    }

    /// <summary>The documents' texts, in order: what gets embedded.</summary>
    public IReadOnlyList<string> Texts { get; }

    public TopicReport Run(TextEmbedder embedder, IProgress<int>? progress = null, CancellationToken cancellation = default)
    {
        var clock = Stopwatch.StartNew();
        var result = embedder.Embed(Texts, progress, cancellation);
        double seconds = clock.Elapsed.TotalSeconds;
        var labels = _docs.Select(d => d.Label).ToList();
        double accuracy = KnnClassifier.LeaveOneOutAccuracy(result.Vectors, labels, _k);
        return new TopicReport(accuracy, _docs.Count, labels.Distinct(StringComparer.Ordinal).Count(), _k, EmbeddingWork.Of(result, seconds));
    }
}
