using RepShift.Models.MiniLM;
using RepShift.Text;

namespace RepShift.Loading;

/// <summary>
/// all-MiniLM-L6-v2 as shipped in our RepShift.Models.MiniLM package: its assembly carries model.onnx and
/// vocab.txt as manifest resources, so no file or network is needed.
/// </summary>
public static class EmbeddedModel
{
    private static readonly Lazy<ModelBundle> Cached = new(LoadUncached);

    /// <summary>The embedded model; imported once per process.</summary>
    public static ModelBundle Load() => Cached.Value;

    /// <summary>Opens the raw ONNX bytes (for ONNX Runtime in <c>repshift verify</c> and benchmarks).</summary>
    public static Stream OpenOnnx() => MiniLMResources.OpenOnnx();

    public static Stream OpenVocab() => MiniLMResources.OpenVocab();

    private static ModelBundle LoadUncached()
    {
        using var onnx = OpenOnnx();
        using var vocab = OpenVocab();
        var weights = OnnxBertImporter.Import(onnx, ModelLoader.DefaultModelName + " (embedded)");
        return new ModelBundle(ModelLoader.DefaultModelName, weights, BertTextTokenizer.FromVocab(vocab, source: MiniLMResources.VocabResource));
    }
}
