namespace RepShift.Cli.Benchmarks;

/// <summary>An engine under benchmark: embeds one batch of token ids.</summary>
internal interface IEngine : IDisposable
{
    string Name { get; }

    void Embed(IReadOnlyList<int[]> batch);

    /// <summary>Embeds one round of batches; an engine that forms its own batches may regroup them.</summary>
    void EmbedRound(IReadOnlyList<List<int[]>> batches)
    {
        foreach (var b in batches) Embed(b);
    }
}

/// <summary>
/// RepShift's encoder on packed batches. With <paramref name="ownBatches"/> it regroups each round's texts
/// into its own batches by token count (<see cref="EmbedderOptions.BatchTokens"/>), as <see cref="TextEmbedder.Embed"/> does.
/// The embedder's own options (threads, GEMM kernel) decide how it computes; with <paramref name="ownsEmbedder"/>
/// the engine disposes it.
/// </summary>
internal sealed class RepShiftEngine(TextEmbedder embedder, string name = "repshift", Compression.CompressionPlan? plan = null, bool ownBatches = false, bool ownsEmbedder = false) : IEngine
{
    public string Name => name;

    public void Embed(IReadOnlyList<int[]> batch) => embedder.Encoder.Encode(batch, plan);

    public void EmbedRound(IReadOnlyList<List<int[]>> batches)
    {
        if (ownBatches) embedder.EmbedIds([.. batches.SelectMany(b => b)], plan: plan ?? Compression.CompressionPlan.None);
        else foreach (var b in batches) embedder.Encoder.Encode(b, plan);
    }

    public void Dispose()
    {
        if (ownsEmbedder) embedder.Dispose();
    }
}

/// <summary>
/// ONNX Runtime on an ONNX model. Padded: the given batches, in input order, each padded to its longest member.
/// Sorted: each round's texts sorted by token count and cut into batches of <paramref name="batchSize"/>, as
/// sentence-transformers' <c>encode()</c> does, embeddings put back in input order (the sort is timed too).
/// </summary>
internal sealed class OnnxRuntimeEngine(Baselines.OnnxRuntimeEncoder encoder, string name = "onnxruntime", bool sorted = false, int batchSize = 0) : IEngine
{
    public string Name => name;

    public void Embed(IReadOnlyList<int[]> batch) => encoder.Embed(batch);

    public void EmbedRound(IReadOnlyList<List<int[]>> batches)
    {
        if (sorted) encoder.EmbedSorted([.. batches.SelectMany(b => b)], batchSize);
        else foreach (var b in batches) encoder.Embed(b);
    }

    public void Dispose() => encoder.Dispose();
}
