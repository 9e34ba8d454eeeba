namespace RepShift.Loading;

/// <summary>
/// all-MiniLM-L6-v2 as shipped in our RepShift.Models.MiniLM package, the default model: its assembly carries
/// model.onnx and vocab.txt as manifest resources, so no file or network is needed. Other built-in models:
/// <see cref="BuiltInModels"/>.
/// </summary>
public static class EmbeddedModel
{
    /// <summary>The embedded model; imported once per process.</summary>
    public static ModelBundle Load() => BuiltInModels.Load(BuiltInModels.MiniLM);

    /// <summary>Opens the raw ONNX bytes (for ONNX Runtime in <c>repshift verify</c> and benchmarks).</summary>
    public static Stream OpenOnnx() => BuiltInModels.MiniLM.OpenOnnx();

    public static Stream OpenVocab() => BuiltInModels.MiniLM.OpenVocab();
}
