using System.Text.Json;
using System.Text.Json.Serialization;
using RepShift.Cluster.Inputs;

namespace RepShift.Cluster.Jobs;

/// <summary>One input of a job as planned: enough to notice when a resumed job's input changed.</summary>
public sealed record JobInput(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("format")] InputFormat Format,
    [property: JsonPropertyName("records")] long Records,
    [property: JsonPropertyName("bytes")] long Bytes);

/// <summary>
/// A slice of one input: <see cref="Count"/> records from <see cref="Start"/>, beginning at byte <see cref="Offset"/>
/// for line formats; written to <see cref="File"/> in the output folder.
/// </summary>
public sealed class Shard
{
    [JsonPropertyName("id")] public int Id { get; init; }
    [JsonPropertyName("input")] public int Input { get; init; }
    [JsonPropertyName("start")] public long Start { get; init; }
    [JsonPropertyName("count")] public long Count { get; init; }
    [JsonPropertyName("offset")] public long Offset { get; init; }
    [JsonPropertyName("file")] public string File { get; init; } = "";
    [JsonPropertyName("done")] public bool Done { get; set; }
    /// <summary>Texts written (JSONL blank lines are not texts, so this can be below <see cref="Count"/>).</summary>
    [JsonPropertyName("texts")] public long Texts { get; set; }
}

/// <summary>
/// The manifest file of a local job (<c>manifest.json</c> in the output folder): the engine, the inputs, the shards
/// and which are done. Saved under a temporary name and renamed after every finished shard, so a killed job
/// leaves the last complete state and a re-run skips what it records as done.
/// </summary>
public sealed class JobManifest
{
    public const string FileName = "manifest.json";
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Converters = { new JsonStringEnumConverter() } };

    [JsonPropertyName("version")] public int Version { get; init; } = 1;
    [JsonPropertyName("engine")] public required EngineSignature Engine { get; init; }
    [JsonPropertyName("shard_size")] public required long ShardSize { get; init; }
    [JsonPropertyName("text_column")] public required string TextColumn { get; init; }
    [JsonPropertyName("inputs")] public required List<JobInput> Inputs { get; init; }
    [JsonPropertyName("shards")] public required List<Shard> Shards { get; init; }

    public static string PathIn(string folder) => System.IO.Path.Combine(folder, FileName);

    public static JobManifest? TryLoad(string folder)
    {
        string path = PathIn(folder);
        if (!System.IO.File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<JobManifest>(System.IO.File.ReadAllText(path), Json)
                ?? throw new RepShiftException($"{path}: empty manifest");
        }
        catch (JsonException e)
        {
            throw new RepShiftException($"{path}: not a job manifest ({e.Message}); delete it or choose another --output");
        }
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static JobManifest FromJson(string json) => JsonSerializer.Deserialize<JobManifest>(json, Json) ?? throw new RepShiftException("empty job manifest");

    public void Save(string folder)
    {
        string path = PathIn(folder);
        string temporary = path + $".{Environment.ProcessId}.tmp";
        System.IO.File.WriteAllText(temporary, ToJson());
        System.IO.File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Why this manifest cannot be resumed by a job planned as <paramref name="planned"/>, or null when it can.</summary>
    public string? Mismatch(JobManifest planned)
    {
        if (Engine.Difference(planned.Engine) is { } engine) return $"it was embedded with another engine ({engine})";
        if (ShardSize != planned.ShardSize) return $"its shard size is {ShardSize}, not {planned.ShardSize}";
        if (TextColumn != planned.TextColumn) return $"its text column is {TextColumn}, not {planned.TextColumn}";
        if (!Inputs.SequenceEqual(planned.Inputs)) return "its inputs differ (paths, sizes or record counts)";
        if (Shards.Count != planned.Shards.Count) return "its shards differ";
        return null;
    }
}
