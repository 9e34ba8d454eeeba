namespace RepShift.Cli.Benchmarks;

/// <summary>An engine under benchmark: embeds one batch of token ids.</summary>
internal interface IEngine : IDisposable
{
    string Name { get; }

    void Embed(IReadOnlyList<int[]> batch);
}

/// <summary>RepShift's encoder on packed batches.</summary>
internal sealed class RepShiftEngine(TextEmbedder embedder, string name = "repshift", Compression.CompressionPlan? plan = null) : IEngine
{
    public string Name => name;

    public void Embed(IReadOnlyList<int[]> batch) => embedder.Encoder.Encode(batch, plan);

    public void Dispose() { }
}

/// <summary>ONNX Runtime on the same ONNX model, batches padded to their longest member.</summary>
internal sealed class OnnxRuntimeEngine(Baselines.OnnxRuntimeEncoder encoder) : IEngine
{
    public string Name => "onnxruntime";

    public void Embed(IReadOnlyList<int[]> batch) => encoder.Embed(batch);

    public void Dispose() => encoder.Dispose();
}
