using System.CommandLine;
using RepShift.Compression;
using RepShift.Kernels;

namespace RepShift.Cli;

/// <summary>
/// Options every model-running command shares: model, lengths, batching, threads, attention kernel, compression.
/// Image commands (<paramref name="images"/>) describe --model and --batch for ViT models and leave out what only
/// text has: --max-tokens, --batch-tokens, the text presets (tuned on sentences; their 64-token minimum would
/// leave every 50-token image dense without a word) and --pooling (a ViT classifies from [CLS]).
/// </summary>
internal sealed class CommonOptions(bool images = false)
{
    public readonly Option<string?> Model = new("--model")
    {
        Description = images
            ? "ViT model folder (Hugging Face ViT/DeiT: config.json + model.safetensors; default: the committed Fashion-MNIST model)"
            : "Model: 'all-MiniLM-L6-v2' (default) or 'arctic-embed-xs' (built in; 'repshift models' lists them), a Hugging Face model folder, or an .onnx file with vocab.txt beside it",
    };
    public readonly Option<string?> EmbeddingPooling = new("--embedding-pooling")
    {
        Description = "How token states become the vector: cls, mean, max, last-token or weighted-mean. Default: the model's own (built in, or its sentence-transformers 1_Pooling/config.json); "
            + "an .onnx file or folder without one needs it. Not --pooling, which is what compression does with dropped tokens",
    };
    /// <summary>Added by the commands that embed given texts (embed, similarity), not by every model command.</summary>
    public readonly Option<string?> Prompt = new("--prompt")
    {
        Description = "The model's prompt to put before each text: query (arctic-embed-xs: 'Represent this sentence for searching relevant passages: '), "
            + "document, or another name the model defines ('repshift models' lists them). Default: the model's default, usually none",
    };
    public readonly Option<int> MaxTokens = new("--max-tokens") { Description = "Tokens per text incl. [CLS]/[SEP]; longer texts are truncated", DefaultValueFactory = _ => 256 };
    public readonly Option<int> Batch = new("--batch") { Description = images ? "Most images per batch" : "Most texts per packed batch", DefaultValueFactory = _ => new EmbedderOptions().BatchSize };
    public readonly Option<int> BatchTokens = new("--batch-tokens") { Description = "Most tokens per packed batch: short texts share big batches, long ones bound the scratch memory", DefaultValueFactory = _ => new EmbedderOptions().BatchTokens };
    public readonly Option<int> Threads = new("--threads") { Description = "Worker threads (default: all cores)", DefaultValueFactory = _ => Environment.ProcessorCount };
    public readonly Option<string> Precision = new("--precision")
    {
        Description = "Linear layers: fp32 (reference) or int8 (weights per output channel, activations per token; faster, a quarter of the weight memory, embeddings within ~0.99 cosine)",
        DefaultValueFactory = _ => "fp32",
    };
    public readonly Option<AttentionKind> Attention = new("--attention") { Description = "Attention kernel: flash (tiled, O(N) memory) or naive (materialises N×N)", DefaultValueFactory = _ => new EmbedderOptions().Attention };

    public readonly Option<string?> Preset = new("--preset") { Description = $"Compression preset: {string.Join("|", Presets.Names)} (default none = dense)" };
    public readonly Option<string?> PlanFile = new("--plan") { Description = "Compression plan file (JSON, as written by 'repshift calibrate')" };
    public readonly Option<string?> Metric = new("--metric") { Description = "Token score: norm, cls-attn, mean-attn, random, shift-attn|mlp|layer[-sub][-l1|-cos][-rel][-inv]" };
    public readonly Option<string?> PruneAt = new("--prune-at") { Description = "Reduce after these layers (0-based, comma-separated), e.g. 0 or 1,3" };
    public readonly Option<double?> Keep = new("--keep") { Description = "Share of unprotected tokens kept at each reduction, in (0, 1]" };
    public readonly Option<int?> Remove = new("--remove") { Description = "Remove a fixed number of tokens per sequence at each reduction (instead of --keep)" };
    public readonly Option<double?> Mass = new("--mass") { Description = "Adaptive: keep the smallest set of tokens holding this share of the total score" };
    public readonly Option<string?> Mode = new("--mode") { Description = "How tokens are removed: drop, fuse (EViT), merge (ToMe), merge-protect" };
    public readonly Option<string?> Pooling = new("--pooling") { Description = "Pooling after compression: mean (survivors, size-weighted) or frozen (dropped tokens count with their state when dropped)" };
    public readonly Option<int?> MinLength = new("--min-length") { Description = "Sequences shorter than this stay dense" };
    public readonly Option<int?> Seed = new("--seed") { Description = "Seed of the random metric" };

    /// <summary>Parse-time checks: every numeric range, the names of metrics, modes and presets, the plan file.</summary>
    private void AddChecks()
    {
        MaxTokens.Range(2, 1 << 20, "the model's limit is checked when it loads");
        Batch.Range(1, 1 << 20);
        BatchTokens.Range(1);
        Threads.Range(1, MaxThreads);
        Precision.AcceptOnlyFromAmong("fp32", "int8");
        Keep.Range(0, 1, minExclusive: true);
        Remove.Range(0);
        Mass.Range(0, 1, minExclusive: true);
        MinLength.Range(0);
        PruneAt.Validators.Add(r =>
        {
            if (r.Implicit || r.Tokens.Count == 0) return;
            if (OptionChecks.ParseIntList(PruneAt.Name, r.Tokens[0].Value, 0, 10_000, out _) is { } error) r.AddError(error);
        });
        Metric.Validators.Add(r => Check(r, v => ScoreMetric.Parse(v)));
        Mode.Validators.Add(r => Check(r, v => ParseEnum<ReduceMode>(Mode.Name, v)));
        Pooling.Validators.Add(r => Check(r, v => ParseEnum<CompressionPooling>(Pooling.Name, v)));
        EmbeddingPooling.Validators.Add(r => Check(r, v => ParseEnum<Models.PoolingMode>(EmbeddingPooling.Name, v)));
        Preset.Validators.Add(r => Check(r, v => Presets.Get(v)));
        PlanFile.ExistingFile();
        PlanFile.Validators.Add(r => Check(r, v => LoadPlanFile(v)));
    }

    /// <summary>More worker threads than this is a typo, not a machine.</summary>
    public const int MaxThreads = 4096;

    /// <summary>Runs a library parser on the option's text at parse time; its error becomes the option's error.</summary>
    private static void Check(System.CommandLine.Parsing.OptionResult r, Action<string> parse)
    {
        if (r.Implicit || r.Tokens.Count == 0 || r.Errors.Any()) return;
        try { parse(r.Tokens[0].Value); }
        catch (RepShiftException e) { r.AddError(e.Message); }
    }

    /// <summary>
    /// Loads a plan file and checks its fields without a model, naming the file and the JSON field
    /// (the library's messages name the plan's property, e.g. "Keep"; here it becomes the file's field, "keep").
    /// </summary>
    internal static CompressionPlan LoadPlanFile(string path)
    {
        var plan = CompressionPlan.Load(path);
        try { plan.Validate(int.MaxValue, plan.Model ?? ""); }
        catch (RepShiftException e) { throw PlanFileError(path, e); }
        return plan;
    }

    /// <summary>A library error about a plan read from <paramref name="path"/>, with its properties named as the file's fields.</summary>
    private static RepShiftException PlanFileError(string path, RepShiftException e)
    {
        string message = e.Message;
        foreach (var (property, field) in PlanFields)
            message = System.Text.RegularExpressions.Regex.Replace(message, $@"(?<![\w.-]){property}\b", $"\"{field}\"");
        return new RepShiftException($"plan file {path}: {message}", e);
    }

    private static readonly (string Property, string Field)[] PlanFields =
    [
        ("PruneAt", "prune_at"), ("Keep", "keep"), ("RemoveCount", "remove_count"), ("Mass", "mass"),
        ("MinLength", "min_length"), ("Mode", "mode"), ("Metric", "metric"), ("Pooling", "pooling"),
    ];

    public void AddTo(Command command, bool compression = true)
    {
        AddChecks();
        command.Options.Add(Model);
        if (!images) command.Options.Add(EmbeddingPooling);
        if (!images) command.Options.Add(MaxTokens);
        command.Options.Add(Batch);
        if (!images) command.Options.Add(BatchTokens);
        command.Options.Add(Threads);
        command.Options.Add(Attention);
        if (!images) command.Options.Add(Precision);
        if (!compression) return;
        if (!images) command.Options.Add(Preset);
        foreach (var o in new Option[] { PlanFile, Metric, PruneAt, Keep, Remove, Mass, Mode }) command.Options.Add(o);
        if (!images) command.Options.Add(Pooling);
        foreach (var o in new Option[] { MinLength, Seed }) command.Options.Add(o);
        command.OneOf(Keep, Remove, Mass);
        if (!images) command.OneOf(PlanFile, Preset);
    }

    public EmbedderOptions EmbedderOptions(ParseResult r) => new()
    {
        MaxTokens = r.GetValue(MaxTokens),
        BatchSize = r.GetValue(Batch),
        BatchTokens = r.GetValue(BatchTokens),
        Attention = r.GetValue(Attention),
        Threads = ThreadCount(r),
        Pooling = images || r.GetValue(EmbeddingPooling) is not { } pooling ? null : ParseEnum<Models.PoolingMode>(EmbeddingPooling.Name, pooling),
        Compression = Plan(r),
        Precision = images || r.GetValue(Precision) != "int8" ? Kernels.Precision.Fp32 : Kernels.Precision.Int8,
    };

    /// <summary>
    /// The compression plan: --plan FILE or --preset NAME as the base (dense without either), then any
    /// explicit option overrides its field. Options without a place to prune are an error, not ignored.
    /// </summary>
    public CompressionPlan Plan(ParseResult r)
    {
        string? file = r.GetValue(PlanFile), preset = images ? null : r.GetValue(Preset);
        if (file != null && preset != null) throw new RepShiftException("give --plan or --preset, not both");
        var plan = file != null ? LoadPlanFile(file) : Presets.Get(preset ?? "none", PresetModel(r));
        if (r.GetValue(PruneAt) is { } layers) plan = plan with { PruneAt = ParseLayers(layers) };
        if (r.GetValue(Metric) is { } metric) plan = plan with { Metric = metric };
        // At most one of the three is given (checked at parse time); it replaces whichever the base plan used.
        if (r.GetValue(Keep) is double keep) plan = plan with { Keep = keep, RemoveCount = null, Mass = null };
        if (r.GetValue(Remove) is int remove) plan = plan with { RemoveCount = remove, Mass = null };
        if (r.GetValue(Mass) is double mass) plan = plan with { Mass = mass, RemoveCount = null };
        if (r.GetValue(Mode) is { } mode) plan = plan with { Mode = ParseEnum<ReduceMode>("--mode", mode) };
        if (!images && r.GetValue(Pooling) is { } pooling) plan = plan with { Pooling = ParseEnum<CompressionPooling>("--pooling", pooling) };
        if (r.GetValue(MinLength) is int minLength) plan = plan with { MinLength = minLength };
        if (r.GetValue(Seed) is int seed) plan = plan with { Seed = seed };
        bool tuned = r.GetValue(Metric) != null || r.GetValue(Keep) != null || r.GetValue(Remove) != null || r.GetValue(Mass) != null || r.GetValue(Mode) != null;
        if (plan.IsDense && tuned) throw new RepShiftException("compression options need --prune-at (the layers after which to reduce), a --preset or a --plan");
        return plan;
    }

    /// <summary>The built-in model --model names (presets are tuned per model), or null for a folder or file.</summary>
    public string? PresetModel(ParseResult r) =>
        r.GetValue(Model) is not { } model || string.IsNullOrWhiteSpace(model) ? Loading.ModelLoader.DefaultModelName : Loading.BuiltInModels.Find(model)?.Name;

    /// <summary>Kebab-case names (merge-protect) for enum values (MergeProtect).</summary>
    internal static T ParseEnum<T>(string option, string value) where T : struct, Enum
    {
        foreach (var v in Enum.GetValues<T>())
            if (string.Equals(Kebab(v.ToString()), value, StringComparison.OrdinalIgnoreCase)) return v;
        throw new RepShiftException($"{option} '{value}' is not one of {string.Join(", ", Enum.GetValues<T>().Select(v => Kebab(v.ToString())))}");
    }

    internal static string Kebab(string pascal) => string.Concat(pascal.Select((c, i) => i > 0 && char.IsUpper(c) ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    private static int[] ParseLayers(string list)
    {
        try
        {
            return [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse)];
        }
        catch (FormatException)
        {
            throw new RepShiftException($"--prune-at '{list}' is not a comma-separated list of layer numbers");
        }
    }

    /// <summary>Loads the model into an embedder with its own compute context (--threads); the caller disposes it.</summary>
    public TextEmbedder CreateEmbedder(ParseResult r) => CreateEmbedder(r, r.GetValue(Model), null);

    /// <summary>
    /// Loads <paramref name="model"/> (one of serve's several --model) with the other options; on <paramref name="compute"/>
    /// when given (several models sharing one worker pool: the caller disposes it after them), else on a context of its own.
    /// </summary>
    public TextEmbedder CreateEmbedder(ParseResult r, string? model, ComputeContext? compute)
    {
        var options = EmbedderOptions(r);
        try { return compute is null ? TextEmbedder.Load(model, options) : new TextEmbedder(Loading.ModelLoader.Load(model), options, compute); }
        catch (OptionException e) when (e.Property == nameof(CompressionPlan.PruneAt) && r.GetValue(PlanFile) is { } file && r.GetResult(PruneAt) is null)
        {
            // Layers can only be checked against the model: a plan file's prune_at is named as such, not as a flag.
            throw PlanFileError(file, e);
        }
    }

    /// <summary>A compute context for commands that build their own encoder (images, benchmarks); the caller disposes it.</summary>
    public ComputeContext CreateCompute(ParseResult r, GemmKernel kernel = GemmKernel.Auto) => new(ThreadCount(r), kernel);

    public int ThreadCount(ParseResult r)
    {
        int threads = r.GetValue(Threads);
        if (threads < 1) throw new RepShiftException($"--threads {threads} is out of range: use 1 or more");
        return threads;
    }

    /// <summary>The ONNX bytes of --model for ONNX Runtime: a built-in model or an .onnx file; other sources have none.</summary>
    public byte[] OnnxBytes(ParseResult r)
    {
        string? model = r.GetValue(Model);
        var builtIn = string.IsNullOrWhiteSpace(model) ? Loading.BuiltInModels.MiniLM : Loading.BuiltInModels.Find(model);
        if (builtIn != null)
        {
            using var s = builtIn.OpenOnnx();
            using var m = new MemoryStream();
            s.CopyTo(m);
            return m.ToArray();
        }
        if (File.Exists(model) && model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)) return File.ReadAllBytes(model);
        throw new RepShiftException($"ONNX Runtime needs an ONNX model; '{model}' is not one (use a built-in model or an .onnx file)");
    }
}
