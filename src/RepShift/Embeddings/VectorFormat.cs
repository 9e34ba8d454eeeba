using System.Text.Json;

namespace RepShift.Embeddings;

/// <summary>
/// What to hand out for a model's vectors: how many dimensions (Matryoshka truncation, renormalised) and in which
/// encoding. Checked once when made: dimensions 1 to the model's, int8 needs ranges calibrated for this model
/// at these dimensions, and binary takes plain sign bits unless given a projection calibrated likewise.
/// </summary>
public sealed class VectorFormat
{
    private readonly Int8Ranges? _ranges;
    private readonly BinaryProjection? _projection;

    /// <param name="modelName">The model the vectors come from (int8 ranges must name it).</param>
    /// <param name="modelDimension">The model's own dimension.</param>
    /// <param name="dimensions">Dimensions to keep; null keeps all.</param>
    /// <param name="encoding">Encoding of the output.</param>
    /// <param name="ranges">Required for <see cref="EmbeddingEncoding.Int8"/>, ignored otherwise.</param>
    /// <param name="projection">For <see cref="EmbeddingEncoding.Binary"/>: the calibrated projection the bits are taken through (null: plain sign bits); ignored otherwise.</param>
    /// <param name="queries">The vectors are queries (the "query" prompt): binary bits take the projection's query thresholds when it has them.</param>
    public VectorFormat(string modelName, int modelDimension, int? dimensions = null, EmbeddingEncoding encoding = EmbeddingEncoding.Float, Int8Ranges? ranges = null,
        BinaryProjection? projection = null, bool queries = false)
    {
        Dimensions = dimensions ?? modelDimension;
        Matryoshka.CheckDimensions(Dimensions, modelDimension, modelName);
        Encoding = encoding;
        if (encoding == EmbeddingEncoding.Int8)
        {
            _ranges = ranges ?? throw new OptionException("Int8Ranges", "the int8 encoding needs per-dimension ranges calibrated on a corpus: write them with 'repshift calibrate-encoding' and pass the file");
            _ranges.CheckFor(modelName, Dimensions);
        }
        if (encoding == EmbeddingEncoding.Binary && projection != null)
        {
            projection.CheckFor(modelName, Dimensions);
            _projection = projection;
        }
        ModelDimension = modelDimension;
        Queries = queries;
    }

    public int Dimensions { get; }

    public int ModelDimension { get; }

    public EmbeddingEncoding Encoding { get; }

    /// <summary>Whether the vectors are queries (see the constructor).</summary>
    public bool Queries { get; }

    public int BytesPerVector => Encoding.BytesPerVector(Dimensions);

    /// <summary>The vector at <see cref="Dimensions"/>: truncated and renormalised, or the same array when nothing is cut.</summary>
    public float[] Shorten(float[] vector) => vector.Length == Dimensions ? vector : Matryoshka.Truncate(vector, Dimensions);

    /// <summary>int8 levels of the shortened vector.</summary>
    public sbyte[] ToInt8(float[] vector) => (_ranges ?? throw new InvalidOperationException("this format is not int8")).Quantize(Shorten(vector));

    /// <summary>The projection binary codes are taken through; null for plain sign bits.</summary>
    public BinaryProjection? Projection => _projection;

    /// <summary>Packed sign bits of the shortened vector (see <see cref="BinaryCodes"/>), through the projection when there is one.</summary>
    public byte[] ToBinary(float[] vector) => _projection is { } p ? p.Pack(Shorten(vector), Queries) : BinaryCodes.Pack(Shorten(vector));

    /// <summary>
    /// Writes the encoded vector as a JSON array: floats, int8 levels (−128…127), or the packed bytes as
    /// unsigned integers (0…255, most significant bit = first dimension).
    /// </summary>
    public void WriteJsonArray(Utf8JsonWriter json, float[] vector)
    {
        json.WriteStartArray();
        switch (Encoding)
        {
            case EmbeddingEncoding.Float:
                foreach (float v in Shorten(vector)) json.WriteNumberValue(v);
                break;
            case EmbeddingEncoding.Int8:
                foreach (sbyte q in ToInt8(vector)) json.WriteNumberValue(q);
                break;
            default:
                foreach (byte b in ToBinary(vector)) json.WriteNumberValue(b);
                break;
        }
        json.WriteEndArray();
    }
}
