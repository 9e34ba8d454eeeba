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
/// With <paramref name="avx2Only"/> its GEMMs use the AVX2 kernel even where the CPU has AVX-512 (the
/// kernel switch is process-wide; the benchmark runs one engine at a time).
/// </summary>
internal sealed class RepShiftEngine(TextEmbedder embedder, string name = "repshift", Compression.CompressionPlan? plan = null, bool ownBatches = false, bool avx2Only = false) : IEngine
{
    public string Name => name;

    public void Embed(IReadOnlyList<int[]> batch) => WithKernel(() => embedder.Encoder.Encode(batch, plan));

    public void EmbedRound(IReadOnlyList<List<int[]>> batches) => WithKernel(() =>
    {
        if (ownBatches) embedder.EmbedIds([.. batches.SelectMany(b => b)], plan: plan ?? Compression.CompressionPlan.None);
        else foreach (var b in batches) embedder.Encoder.Encode(b, plan);
    });

    private void WithKernel(Action run)
    {
        bool before = Kernels.Gemm.UseAvx512;
        if (avx2Only) Kernels.Gemm.UseAvx512 = false;
        try { run(); }
        finally { Kernels.Gemm.UseAvx512 = before; }
    }

    public void Dispose() { }
}

/// <summary>ONNX Runtime on the same ONNX model, batches padded to their longest member.</summary>
internal sealed class OnnxRuntimeEngine(Baselines.OnnxRuntimeEncoder encoder) : IEngine
{
    public string Name => "onnxruntime";

    public void Embed(IReadOnlyList<int[]> batch) => encoder.Embed(batch);

    public void Dispose() => encoder.Dispose();
}
