using System.Text.Json;
using RepShift.Models;

namespace RepShift.Loading;

/// <summary>
/// What sentence-transformers does after the transformer: pooling (from the Pooling module's
/// config.json) and whether a Normalize module follows. Any other module (Dense, …) is refused, since
/// skipping it would silently change the embeddings.
/// </summary>
internal static class SentenceTransformersModules
{
    public const string ModulesFile = "modules.json";
    private const string DefaultPoolingConfig = "1_Pooling/config.json";

    /// <summary>
    /// With modules.json: its Pooling module's config decides pooling, and normalization is on only if it
    /// lists a Normalize module. Without modules.json: 1_Pooling/config.json if present (else mean
    /// pooling), and normalization on, as for a plain transformer used for embeddings.
    /// </summary>
    public static (PoolingMode Pooling, bool Normalize) Read(string folder, int hidden)
    {
        string modulesPath = Path.Combine(folder, ModulesFile);
        if (!File.Exists(modulesPath))
        {
            string defaultPooling = Path.Combine(folder, DefaultPoolingConfig);
            return (File.Exists(defaultPooling) ? ReadPooling(defaultPooling, hidden) : PoolingMode.Mean, true);
        }

        var modules = JsonFile.Read(modulesPath);
        if (modules.ValueKind != JsonValueKind.Array)
            throw new ModelFormatException($"{modulesPath}: expected a list of modules, found {modules.ValueKind}");
        string? poolingConfig = null;
        bool normalize = false;
        foreach (var module in modules.EnumerateArray())
        {
            if (module.ValueKind != JsonValueKind.Object)
                throw new ModelFormatException($"{modulesPath}: each module must be an object with \"type\" and \"path\", found {module.GetRawText()}");
            string type = module.OptionalString("type", modulesPath) ?? throw new ModelFormatException($"{modulesPath}: a module has no \"type\": {module.GetRawText()}");
            string path = module.OptionalString("path", modulesPath) ?? "";
            // "sentence_transformers.models.Pooling" in every release so far; match on the class name to be tolerant of module paths.
            string kind = type.StartsWith("sentence_transformers.", StringComparison.Ordinal) ? type[(type.LastIndexOf('.') + 1)..] : type;
            switch (kind)
            {
                case "Transformer":
                    break;
                case "Pooling":
                    poolingConfig = Path.Combine(folder, path, "config.json");
                    break;
                case "Normalize":
                    normalize = true;
                    break;
                default:
                    throw new ModelFormatException($"{modulesPath}: module \"{type}\" (path \"{path}\") is not supported; RepShift runs Transformer, Pooling and Normalize modules only");
            }
        }
        if (poolingConfig is null)
            throw new ModelFormatException($"{modulesPath}: no Pooling module is listed; RepShift needs one with mean or CLS pooling to make sentence embeddings");
        if (!File.Exists(poolingConfig))
            throw new ModelFormatException($"{poolingConfig}: missing; modules.json lists a Pooling module whose config.json should be here");
        return (ReadPooling(poolingConfig, hidden), normalize);
    }

    private static PoolingMode ReadPooling(string path, int hidden)
    {
        var root = JsonFile.ReadObject(path);
        int? dimension = root.OptionalInt("word_embedding_dimension", path);
        if (dimension is not null && dimension != hidden)
            throw new ModelFormatException($"{path}: word_embedding_dimension {dimension} does not match hidden_size {hidden} in config.json");
        var on = new List<string>();
        foreach (var property in root.EnumerateObject())
            if (property.Name.StartsWith("pooling_mode_", StringComparison.Ordinal) && property.Value.ValueKind == JsonValueKind.True)
                on.Add(property.Name);
        if (on is ["pooling_mode_cls_token"]) return PoolingMode.Cls;
        if (on is ["pooling_mode_mean_tokens"]) return PoolingMode.Mean;
        string found = on.Count == 0 ? "no pooling_mode_* set to true" : string.Join(" + ", on);
        throw new ModelFormatException($"{path}: pooling {found} is not supported; expected exactly one of pooling_mode_cls_token or pooling_mode_mean_tokens");
    }
}
