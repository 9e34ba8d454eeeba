using System.Text.Json;
using System.Text.Json.Serialization;

namespace RepShift.Compression;

/// <summary>How tokens are removed at a reduction.</summary>
public enum ReduceMode
{
    /// <summary>Dropped tokens disappear.</summary>
    Drop,

    /// <summary>EViT: dropped tokens become one token, their score-weighted mean, whose size is their total size.</summary>
    Fuse,

    /// <summary>ToMe: bipartite soft matching merges the most similar pairs (size-weighted means, proportional attention).</summary>
    Merge,

    /// <summary>ToMe, but the top-scoring tokens are never merged away.</summary>
    MergeProtect,
}

/// <summary>How a sequence's tokens become its embedding once some were removed.</summary>
public enum CompressionPooling
{
    /// <summary>Size-weighted mean over the tokens that reach the last layer.</summary>
    Mean,

    /// <summary>Dropped tokens still count, with the state they had when dropped.</summary>
    Frozen,
}

/// <summary>
/// Where and how much to compress: after each layer in <see cref="PruneAt"/> (0-based), the tokens of
/// every sequence with at least <see cref="MinLength"/> tokens are scored by <see cref="Metric"/> and
/// reduced by <see cref="Mode"/>, keeping a share <see cref="Keep"/> of the unprotected tokens (or
/// removing a fixed <see cref="RemoveCount"/>, or keeping the smallest set that holds a share
/// <see cref="Mass"/> of the total score). [CLS] and [SEP] are never removed.
/// </summary>
public sealed record CompressionPlan
{
    private readonly string _metric = "norm";
    private readonly ScoreMetric _parsedMetric = ScoreMetric.Parse("norm");

    /// <summary>The score metric by name (see <see cref="ScoreMetric.Examples"/>); parsed once, when set, so a bad name fails where the plan is made.</summary>
    public string Metric
    {
        get => _metric;
        init
        {
            _parsedMetric = ScoreMetric.Parse(value);
            _metric = value;
        }
    }

    public int[] PruneAt { get; init; } = [];
    public double Keep { get; init; } = 1.0;
    public int? RemoveCount { get; init; }
    public double? Mass { get; init; }
    public ReduceMode Mode { get; init; } = ReduceMode.Drop;
    public CompressionPooling Pooling { get; init; } = CompressionPooling.Mean;
    public int MinLength { get; init; }
    public int Seed { get; init; }

    /// <summary>The model this plan was calibrated for; null for plans that fit any model.</summary>
    public string? Model { get; init; }

    /// <summary>The dense plan: no reduction anywhere.</summary>
    public static readonly CompressionPlan None = new();

    [JsonIgnore]
    public bool IsDense => PruneAt.Length == 0;

    /// <summary>The metric, parsed when <see cref="Metric"/> was set.</summary>
    [JsonIgnore]
    public ScoreMetric ParsedMetric => _parsedMetric;

    /// <summary>Checks the plan against a model; each problem is one <see cref="OptionException"/> naming the property.</summary>
    public void Validate(int layers, string modelName)
    {
        foreach (int l in PruneAt)
            if (l < 0 || l >= layers - 1)
                throw new OptionException(nameof(PruneAt), $"PruneAt {l} is out of range: this model has {layers} layers, so reductions can follow layers 0 to {layers - 2}");
        if (PruneAt.Distinct().Count() != PruneAt.Length) throw new OptionException(nameof(PruneAt), $"PruneAt lists a layer twice ({string.Join(",", PruneAt)})");
        if (!(Keep > 0 && Keep <= 1)) throw new OptionException(nameof(Keep), $"Keep must be in (0, 1] (the share of tokens kept), not {Keep}");
        if (RemoveCount is < 0) throw new OptionException(nameof(RemoveCount), $"RemoveCount must be ≥ 0 tokens per reduction, not {RemoveCount}");
        if (Mass is not null && !(Mass > 0 && Mass <= 1)) throw new OptionException(nameof(Mass), $"Mass must be in (0, 1] (the share of score kept), not {Mass}");
        if (MinLength < 0) throw new OptionException(nameof(MinLength), $"MinLength must be ≥ 0, not {MinLength}");
        if ((Mode is ReduceMode.Merge or ReduceMode.MergeProtect) && Mass is not null)
            throw new OptionException(nameof(Mass), "Mass (adaptive keep) works with Mode Drop or Fuse, not Merge");
        if (Model != null && !string.Equals(Model, modelName, StringComparison.OrdinalIgnoreCase))
            throw new OptionException(nameof(Model), $"this plan was calibrated for model '{Model}', not '{modelName}'; run 'repshift calibrate' for this model");
    }

    /// <summary>Tokens (of <paramref name="unprotected"/>) to keep at one reduction, for keep-ratio and fixed-count plans.</summary>
    internal int KeepCount(int unprotected) =>
        RemoveCount is int r ? Math.Max(0, unprotected - r) : (int)Math.Round(Keep * unprotected, MidpointRounding.AwayFromZero);

    private static readonly JsonSerializerOptions FileJson = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string ToJson() => JsonSerializer.Serialize(this, FileJson);

    public static CompressionPlan FromJson(string json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize<CompressionPlan>(json, FileJson) ?? throw new RepShiftException($"{source}: the plan file is empty");
        }
        catch (JsonException e)
        {
            throw new RepShiftException($"{source}: not a valid plan file ({e.Message})", e);
        }
    }

    public static CompressionPlan Load(string path)
    {
        if (!File.Exists(path)) throw new RepShiftException($"plan file '{path}' not found");
        return FromJson(File.ReadAllText(path), path);
    }

    public void Save(string path) => File.WriteAllText(path, ToJson() + Environment.NewLine);
}
