using System.Numerics.Tensors;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RepShift.Embeddings;

/// <summary>
/// Calibrated sign bits: a vector x is rotated (y = R·x, R orthogonal) and bit d is set when y[d] &gt; t[d], the
/// dimension's threshold. Plain sign bits (R = I, t = 0) waste bits on a model's own axes, whose components are
/// neither centred nor equally spread; a rotation learned on a corpus (iterative quantization, Gong &amp; Lazebnik,
/// CVPR 2011) with median thresholds gives bits that are balanced and lose less of the geometry, so Hamming search
/// finds more of the true neighbours. R preserves dot products, so re-scoring with <see cref="Apply"/>'s output is
/// re-scoring in the model's own space, shifted by t. The projection belongs to one model at one dimension count
/// and is refused for any other; queries and documents must use the same one.
/// <para>It may carry a second threshold per bit for queries (<see cref="QueryThresholds"/>): a retrieval model's
/// queries are short and often prompted, so they sit elsewhere than the documents, and a threshold that splits
/// the documents in half leaves most queries on one side of some bits. Thresholds calibrated on queries put each
/// query bit back at even odds; the rotation stays shared, so Hamming distances still compare like with like.</para>
/// </summary>
public sealed record BinaryProjection
{
    /// <summary>The value of <see cref="Format"/> in every projection file.</summary>
    public const string FormatName = "repshift-binary-projection";

    /// <summary>How far R·Rᵀ may be from the identity (largest entry): float32 rounding of a 384×384 rotation stays near 1e-6.</summary>
    public const float OrthogonalityTolerance = 1e-3f;

    private readonly float[][] _rotation;

    /// <param name="model">The model whose vectors were calibrated.</param>
    /// <param name="rotation">R, row d is the direction bit d reads; square and orthogonal.</param>
    /// <param name="thresholds">t, one per row of R.</param>
    /// <param name="texts">How many vectors it was calibrated on.</param>
    /// <param name="queryThresholds">Thresholds for queries, one per row of R; null: queries use <paramref name="thresholds"/>.</param>
    /// <param name="queryTexts">How many queries <paramref name="queryThresholds"/> were calibrated on.</param>
    public BinaryProjection(string model, float[][] rotation, float[] thresholds, int texts, float[]? queryThresholds = null, int queryTexts = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        int dim = thresholds.Length;
        if (dim == 0 || rotation.Length != dim) throw new ArgumentException($"a projection needs a square rotation with one threshold per row ({rotation.Length} rows, {dim} thresholds)");
        for (int d = 0; d < dim; d++)
        {
            if (rotation[d] is not { } row || row.Length != dim) throw new ArgumentException($"rotation row {d} has {rotation[d]?.Length ?? 0} values, not {dim}");
            if (!float.IsFinite(thresholds[d]) || !rotation[d].All(float.IsFinite)) throw new ArgumentException($"row {d} holds a non-finite value");
        }
        if (queryThresholds != null && (queryThresholds.Length != dim || !queryThresholds.All(float.IsFinite)))
            throw new ArgumentException($"the query thresholds need {dim} finite values ({queryThresholds.Length} given)");
        for (int a = 0; a < dim; a++)
            for (int b = a; b < dim; b++)
            {
                float dot = TensorPrimitives.Dot(rotation[a], rotation[b]);
                if (MathF.Abs(dot - (a == b ? 1 : 0)) > OrthogonalityTolerance)
                    throw new ArgumentException($"the rotation is not orthogonal: rows {a} and {b} have dot product {dot}");
            }
        Model = model;
        _rotation = rotation;
        Thresholds = thresholds;
        Texts = texts;
        QueryThresholds = queryThresholds;
        QueryTexts = queryThresholds is null ? 0 : queryTexts;
    }

    /// <summary>The plain sign bits as a projection: R = I, t = 0.</summary>
    public static BinaryProjection Identity(string model, int dimensions)
    {
        var rotation = new float[dimensions][];
        for (int d = 0; d < dimensions; d++) (rotation[d] = new float[dimensions])[d] = 1;
        return new BinaryProjection(model, rotation, new float[dimensions], 0);
    }

    public string Format => FormatName;

    /// <summary>The model whose vectors were calibrated (as <see cref="TextEmbedder.ModelName"/> names it).</summary>
    public string Model { get; }

    /// <summary>Dimensions of the calibrated vectors (after any truncation), and bits per code.</summary>
    public int Dimension => Thresholds.Length;

    /// <summary>How many vectors it was calibrated on.</summary>
    public int Texts { get; }

    /// <summary>Row d of R.</summary>
    public ReadOnlySpan<float> Row(int d) => _rotation[d];

    /// <summary>t: the thresholds of documents, and of queries when there are no <see cref="QueryThresholds"/>.</summary>
    public float[] Thresholds { get; }

    /// <summary>The thresholds of queries, calibrated on queries; null when queries use <see cref="Thresholds"/>.</summary>
    public float[]? QueryThresholds { get; }

    /// <summary>How many queries <see cref="QueryThresholds"/> were calibrated on (0 without them).</summary>
    public int QueryTexts { get; }

    /// <summary>The same rotation and document thresholds with these query thresholds.</summary>
    public BinaryProjection WithQueryThresholds(float[] queryThresholds, int queryTexts) =>
        new(Model, _rotation, Thresholds, Texts, queryThresholds, queryTexts);

    /// <summary>Throws unless this projection was calibrated for <paramref name="model"/> at <paramref name="dimensions"/> dimensions.</summary>
    public void CheckFor(string model, int dimensions, string source = "the binary projection") =>
        Calibrated.CheckFor(Model, Dimension, model, dimensions, "BinaryProjection", source, plural: false, "calibrate-encoding --encoding binary");

    /// <summary>
    /// R·x − t: what the bits are the signs of, and what a float query is re-scored with against them. A
    /// <paramref name="query"/> is shifted by the <see cref="QueryThresholds"/> when there are some.
    /// </summary>
    public float[] Apply(ReadOnlySpan<float> vector, bool query = false)
    {
        if (vector.Length != Dimension) throw new ArgumentException($"a {vector.Length}-dimensional vector given to a {Dimension}-dimensional binary projection");
        var t = query && QueryThresholds is { } q ? q : Thresholds;
        var y = new float[Dimension];
        for (int d = 0; d < y.Length; d++) y[d] = TensorPrimitives.Dot(_rotation[d], vector) - t[d];
        return y;
    }

    /// <summary>The packed bits of <paramref name="vector"/> (layout of <see cref="BinaryCodes"/>), a query's with the query thresholds.</summary>
    public byte[] Pack(ReadOnlySpan<float> vector, bool query = false) => BinaryCodes.Pack(Apply(vector, query));

    public void Save(string path) => File.WriteAllText(path, ToJson() + Environment.NewLine);

    public string ToJson() => JsonSerializer.Serialize(new FileShape(Format, Model, Dimension, Texts, _rotation, Thresholds, QueryThresholds, QueryTexts), Calibrated.FileJson);

    public static BinaryProjection Load(string path) => FromJson(Calibrated.ReadFile(path, "binary projection"), path);

    public static BinaryProjection FromJson(string json, string source)
    {
        var file = Calibrated.Parse<FileShape>(json, source, "a binary projection", FormatName, f => f.Format);
        if (string.IsNullOrEmpty(file.Model)) throw new RepShiftException($"{source}: \"model\" is missing");
        if (file.Rotation is null || file.Thresholds is null) throw new RepShiftException($"{source}: \"rotation\" and \"thresholds\" are required");
        if (file.Thresholds.Length != file.Dimension || file.Rotation.Length != file.Dimension)
            throw new RepShiftException($"{source}: \"dimension\" is {file.Dimension} but \"rotation\" has {file.Rotation.Length} rows and \"thresholds\" {file.Thresholds.Length} values");
        try { return new BinaryProjection(file.Model, file.Rotation, file.Thresholds, file.Texts, file.QueryThresholds, file.QueryTexts); }
        catch (ArgumentException e)
        {
            throw new RepShiftException($"{source}: {e.Message}", e);
        }
    }

    /// <summary>The file; query_thresholds and query_texts are optional (files without them give queries the document thresholds).</summary>
    private sealed record FileShape(string? Format, string? Model, int Dimension, int Texts, float[][]? Rotation, float[]? Thresholds,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] float[]? QueryThresholds = null,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] int QueryTexts = 0);
}
