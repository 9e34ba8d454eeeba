using System.Text.Json;
using RepShift.Models;

namespace RepShift.Loading;

/// <summary>
/// What sentence-transformers does around the transformer, read from its files: pooling (the Pooling module's
/// config.json), whether a Normalize module follows (modules.json) and the prompts
/// (config_sentence_transformers.json). Any other module (Dense, …) is refused, since skipping it would
/// silently change the embeddings; a pooling the files do not state is left null for the caller to state.
/// </summary>
internal static class SentenceTransformersModules
{
    public const string ModulesFile = "modules.json";
    public const string DefaultPoolingConfig = "1_Pooling/config.json";
    public const string PromptsFile = "config_sentence_transformers.json";

    /// <summary>
    /// With modules.json: its Pooling module's config decides pooling, and normalization is on only if it
    /// lists a Normalize module. Without modules.json: 1_Pooling/config.json if present (else the pooling is
    /// unknown: null), and normalization on, as for a plain transformer used for embeddings.
    /// </summary>
    public static ModelConventions Read(string folder, int hidden)
    {
        var (prompts, defaultPrompt) = ReadPrompts(folder);
        string modulesPath = Path.Combine(folder, ModulesFile);
        if (!File.Exists(modulesPath))
        {
            string defaultPooling = Path.Combine(folder, DefaultPoolingConfig);
            bool known = File.Exists(defaultPooling);
            return new ModelConventions
            {
                Pooling = known ? ReadPooling(defaultPooling, hidden) : null,
                Normalize = true,
                Prompts = prompts,
                DefaultPrompt = defaultPrompt,
                Source = known ? defaultPooling : null,
            };
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
            throw new ModelFormatException($"{modulesPath}: no Pooling module is listed; RepShift needs one (cls, mean, max, last-token or weighted-mean) to make sentence embeddings");
        if (!File.Exists(poolingConfig))
            throw new ModelFormatException($"{poolingConfig}: missing; modules.json lists a Pooling module whose config.json should be here");
        return new ModelConventions { Pooling = ReadPooling(poolingConfig, hidden), Normalize = normalize, Prompts = prompts, DefaultPrompt = defaultPrompt, Source = poolingConfig };
    }

    /// <summary>
    /// The conventions of an ONNX export: the sentence-transformers files in its folder, or in the folder above
    /// when it sits in "onnx/" (the Hugging Face Hub layout); pooling null when neither has them.
    /// </summary>
    public static ModelConventions ReadBesideOnnx(string folder, int hidden)
    {
        if (HasFiles(folder)) return Read(folder, hidden);
        var parent = Path.GetDirectoryName(folder);
        if (Path.GetFileName(folder).Equals("onnx", StringComparison.OrdinalIgnoreCase) && parent != null && HasFiles(parent)) return Read(parent, hidden);
        return new ModelConventions { Pooling = null, Normalize = true };
    }

    private static bool HasFiles(string folder) =>
        File.Exists(Path.Combine(folder, ModulesFile)) || File.Exists(Path.Combine(folder, DefaultPoolingConfig)) || File.Exists(Path.Combine(folder, PromptsFile));

    /// <summary>config_sentence_transformers.json's "prompts" (name → text) and "default_prompt_name"; none when the file is absent.</summary>
    private static (Dictionary<string, string> Prompts, string? Default) ReadPrompts(string folder)
    {
        var prompts = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        string path = Path.Combine(folder, PromptsFile);
        if (!File.Exists(path)) return (prompts, null);
        var root = JsonFile.ReadObject(path);
        if (root.TryGetProperty("prompts", out var list) && list.ValueKind != JsonValueKind.Null)
        {
            if (list.ValueKind != JsonValueKind.Object) throw new ModelFormatException($"{path}: \"prompts\" must be an object of name → text, found {list.GetRawText()}");
            foreach (var p in list.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String) throw new ModelFormatException($"{path}: prompt \"{p.Name}\" must be a string, found {p.Value.GetRawText()}");
                prompts[p.Name] = p.Value.GetString()!;
            }
        }
        string? defaultPrompt = root.OptionalString("default_prompt_name", path);
        if (defaultPrompt != null && !prompts.ContainsKey(defaultPrompt))
            throw new ModelFormatException($"{path}: default_prompt_name \"{defaultPrompt}\" is not one of the prompts ({string.Join(", ", prompts.Keys)})");
        return (prompts, defaultPrompt);
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
        if (root.TryGetProperty("include_prompt", out var include) && include.ValueKind == JsonValueKind.False)
            throw new ModelFormatException($"{path}: include_prompt false (pooling that leaves the prompt's tokens out) is not supported; RepShift pools over the prompt too");
        // Newer sentence-transformers also writes "pooling_mode": "cls" | "mean" | … alongside the flags.
        if (on.Count == 0 && root.OptionalString("pooling_mode", path) is { } named) on.Add("pooling_mode_" + named);
        switch (on)
        {
            case ["pooling_mode_cls_token"] or ["pooling_mode_cls"]: return PoolingMode.Cls;
            case ["pooling_mode_mean_tokens"] or ["pooling_mode_mean"]: return PoolingMode.Mean;
            case ["pooling_mode_max_tokens"] or ["pooling_mode_max"]: return PoolingMode.Max;
            case ["pooling_mode_lasttoken"]: return PoolingMode.LastToken;
            case ["pooling_mode_weightedmean_tokens"] or ["pooling_mode_weightedmean"]: return PoolingMode.WeightedMean;
        }
        string found = on.Count == 0 ? "no pooling_mode_* set to true" : string.Join(" + ", on);
        throw new ModelFormatException($"{path}: pooling {found} is not supported; expected exactly one of pooling_mode_cls_token, pooling_mode_mean_tokens, pooling_mode_max_tokens, pooling_mode_lasttoken or pooling_mode_weightedmean_tokens");
    }
}
