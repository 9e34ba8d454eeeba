namespace RepShift.Embeddings;

/// <summary>How an embedding is stored or sent: what a vector database keeps per vector.</summary>
public enum EmbeddingEncoding
{
    /// <summary>float32 per dimension (4 bytes each).</summary>
    Float,

    /// <summary>One signed byte per dimension, from per-dimension ranges calibrated on a corpus (<see cref="Int8Ranges"/>).</summary>
    Int8,

    /// <summary>One bit per dimension (1 when the component is &gt; 0), packed most significant bit first (<see cref="BinaryCodes"/>).</summary>
    Binary,
}

/// <summary>Names and sizes of <see cref="EmbeddingEncoding"/>.</summary>
public static class EmbeddingEncodings
{
    /// <summary>The names <see cref="Parse"/> accepts, as the CLI and the server spell them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["float", "int8", "binary"];

    public static EmbeddingEncoding Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "float" => EmbeddingEncoding.Float,
        "int8" => EmbeddingEncoding.Int8,
        "binary" => EmbeddingEncoding.Binary,
        _ => throw new OptionException("Encoding", $"encoding '{name}' is not known: use {string.Join(", ", Names)}"),
    };

    public static string Name(this EmbeddingEncoding encoding) => Names[(int)encoding];

    /// <summary>Bytes one vector of <paramref name="dimensions"/> takes in this encoding.</summary>
    public static int BytesPerVector(this EmbeddingEncoding encoding, int dimensions) => encoding switch
    {
        EmbeddingEncoding.Float => dimensions * sizeof(float),
        EmbeddingEncoding.Int8 => dimensions,
        EmbeddingEncoding.Binary => BinaryCodes.ByteCount(dimensions),
        _ => throw new ArgumentOutOfRangeException(nameof(encoding)),
    };
}
