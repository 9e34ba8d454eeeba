namespace RepShift.Models.ArcticXs;

/// <summary>
/// Snowflake's arctic-embed-xs as this assembly's resources: the ONNX graph the core imports and the WordPiece
/// vocabulary. The core finds this assembly by name when it is deployed next to it (it does not reference it),
/// so an application that never asks for arctic-embed-xs does not carry its 90 MB.
/// </summary>
public static class ArcticXsResources
{
    /// <summary>Manifest resource name of model.onnx in this assembly.</summary>
    public const string OnnxResource = "RepShift.Models.ArcticXs.model.onnx";
    /// <summary>Manifest resource name of vocab.txt in this assembly.</summary>
    public const string VocabResource = "RepShift.Models.ArcticXs.vocab.txt";

    /// <summary>Opens the ONNX graph (about 90 MB), read-only.</summary>
    public static Stream OpenOnnx() => Open(OnnxResource);

    /// <summary>Opens vocab.txt (one WordPiece token a line).</summary>
    public static Stream OpenVocab() => Open(VocabResource);

    private static Stream Open(string name) =>
        typeof(ArcticXsResources).Assembly.GetManifestResourceStream(name)
        ?? throw new FileNotFoundException($"resource {name} is missing from {typeof(ArcticXsResources).Assembly.GetName().Name}; the package is damaged, reinstall RepShift.Models.ArcticXs");
}
