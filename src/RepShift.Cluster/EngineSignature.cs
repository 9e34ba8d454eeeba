using System.Security.Cryptography;
using System.Text.Json.Serialization;

namespace RepShift.Cluster;

/// <summary>
/// What decides an engine's vectors: model, dimension, token limit, compression plan, attention kernel, precision,
/// and a hash of the vectors it gives a few fixed probe texts (which catches different weights behind the same
/// name). Threads, batch sizes and the GEMM kernel are left out: vectors do not depend on them. Two engines with
/// equal signatures write interchangeable vectors; a bulk job and a cluster refuse to mix unequal ones.
/// </summary>
public sealed record EngineSignature(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("dimension")] int Dimension,
    [property: JsonPropertyName("max_tokens")] int MaxTokens,
    [property: JsonPropertyName("plan")] string Plan,
    [property: JsonPropertyName("attention")] string Attention,
    [property: JsonPropertyName("precision")] string Precision,
    [property: JsonPropertyName("probe_sha256")] string ProbeHash)
{
    private static readonly string[] Probes =
    [
        "the cat sat on the mat.",
        "A man is playing a guitar while a dog sings, and the world watches: hello, cats! " +
        "Twenty-seven words follow so that compression plans with a minimum length reduce something here too, " +
        "as they would in a real document of a corpus.",
    ];

    public static EngineSignature Of(TextEmbedder embedder)
    {
        var vectors = embedder.Embed(Probes).Vectors;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var v in vectors) sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()));
        var o = embedder.Options;
        return new EngineSignature(embedder.ModelName, embedder.Dimension, o.MaxTokens, o.Compression.IsDense ? "dense" : o.Compression.ToJson(),
            o.Attention.ToString(), o.Precision.ToString(), Convert.ToHexStringLower(sha.GetHashAndReset()));
    }

    /// <summary>The first field that differs, as "field: this vs other", or null when equal.</summary>
    public string? Difference(EngineSignature other)
    {
        if (Model != other.Model) return $"model {Model} vs {other.Model}";
        if (Dimension != other.Dimension) return $"dimension {Dimension} vs {other.Dimension}";
        if (MaxTokens != other.MaxTokens) return $"max tokens {MaxTokens} vs {other.MaxTokens}";
        if (Plan != other.Plan) return $"compression plan {Plan} vs {other.Plan}";
        if (Attention != other.Attention) return $"attention {Attention} vs {other.Attention}";
        if (Precision != other.Precision) return $"precision {Precision} vs {other.Precision}";
        if (ProbeHash != other.ProbeHash) return $"probe vectors differ (same name, different weights?) {ProbeHash[..12]} vs {other.ProbeHash[..12]}";
        return null;
    }
}
