namespace RepShift.Models.MiniLM;

/// <summary>
/// all-MiniLM-L6-v2 as this assembly's resources: the ONNX graph the core imports and the WordPiece vocabulary.
/// The core finds them here; this assembly depends on nothing, so there is no cycle.
/// </summary>
public static class MiniLMResources
{
    /// <summary>Manifest resource name of model.onnx in this assembly.</summary>
    public const string OnnxResource = "RepShift.Models.MiniLM.model.onnx";
    /// <summary>Manifest resource name of vocab.txt in this assembly.</summary>
    public const string VocabResource = "RepShift.Models.MiniLM.vocab.txt";

    /// <summary>Opens the ONNX graph (about 90 MB), read-only.</summary>
    public static Stream OpenOnnx() => Open(OnnxResource);

    /// <summary>Opens vocab.txt (one WordPiece token a line).</summary>
    public static Stream OpenVocab() => Open(VocabResource);

    private static Stream Open(string name) =>
        typeof(MiniLMResources).Assembly.GetManifestResourceStream(name)
        ?? throw new FileNotFoundException($"resource {name} is missing from {typeof(MiniLMResources).Assembly.GetName().Name}; the package is damaged, reinstall RepShift.Models.MiniLM");
}
