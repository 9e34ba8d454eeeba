using System.Text.Json;

namespace RepShift.Embeddings;

/// <summary>
/// Per-dimension ranges for int8 vectors, calibrated on a corpus: dimension d maps [Min[d], Max[d]] onto the 256
/// levels −128…127 (q = round((x − min) / step) − 128, step = (max − min) / 255) and back (x̂ = min + (q + 128) · step),
/// so a value inside its range comes back within step / 2; values outside are clamped to the nearest end. The
/// ranges belong to one model at one dimension count (a truncated vector is renormalised, so its components
/// are larger) and are refused for any other.
/// </summary>
public sealed record Int8Ranges
{
    /// <summary>The value of <see cref="Format"/> in every ranges file.</summary>
    public const string FormatName = "repshift-int8-ranges";

    public Int8Ranges(string model, float[] min, float[] max, int texts)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (min.Length == 0 || min.Length != max.Length) throw new ArgumentException($"ranges need as many minima as maxima, at least one ({min.Length} and {max.Length})");
        for (int d = 0; d < min.Length; d++)
            if (!float.IsFinite(min[d]) || !float.IsFinite(max[d]) || min[d] > max[d])
                throw new ArgumentException($"dimension {d}: the range [{min[d]}, {max[d]}] is not a finite interval");
        Model = model;
        Min = min;
        Max = max;
        Texts = texts;
    }

    public string Format => FormatName;

    /// <summary>The model whose vectors were calibrated (as <see cref="TextEmbedder.ModelName"/> names it).</summary>
    public string Model { get; }

    /// <summary>Dimensions of the calibrated vectors (after any truncation).</summary>
    public int Dimension => Min.Length;

    /// <summary>How many vectors the ranges were measured on.</summary>
    public int Texts { get; }

    public float[] Min { get; }

    public float[] Max { get; }

    /// <summary>Smallest and largest value of each dimension over <paramref name="vectors"/>.</summary>
    public static Int8Ranges Calibrate(string model, IReadOnlyList<float[]> vectors)
    {
        if (vectors.Count == 0) throw new ArgumentException("calibrating int8 ranges needs at least one vector");
        int dim = vectors[0].Length;
        var min = new float[dim];
        var max = new float[dim];
        Array.Fill(min, float.PositiveInfinity);
        Array.Fill(max, float.NegativeInfinity);
        for (int i = 0; i < vectors.Count; i++)
        {
            var v = vectors[i];
            if (v.Length != dim) throw new ArgumentException($"vector {i} has {v.Length} dimensions, the first has {dim}");
            for (int d = 0; d < dim; d++)
            {
                if (!float.IsFinite(v[d])) throw new ArgumentException($"vector {i} holds a non-finite value at dimension {d}");
                min[d] = Math.Min(min[d], v[d]);
                max[d] = Math.Max(max[d], v[d]);
            }
        }
        return new Int8Ranges(model, min, max, vectors.Count);
    }

    /// <summary>Throws unless these ranges were calibrated for <paramref name="model"/> at <paramref name="dimensions"/> dimensions.</summary>
    public void CheckFor(string model, int dimensions, string source = "the int8 ranges") =>
        Calibrated.CheckFor(Model, Dimension, model, dimensions, "Int8Ranges", source, plural: true, "calibrate-encoding");

    /// <summary>The levels of <paramref name="vector"/>: one signed byte per dimension.</summary>
    public sbyte[] Quantize(ReadOnlySpan<float> vector)
    {
        if (vector.Length != Dimension) throw new ArgumentException($"a {vector.Length}-dimensional vector given to {Dimension}-dimensional int8 ranges");
        var q = new sbyte[vector.Length];
        for (int d = 0; d < q.Length; d++)
        {
            float step = (Max[d] - Min[d]) / 255f;
            // A constant dimension has one value: every vector gets the lowest level, which decodes to it.
            float level = step > 0 ? MathF.Round((vector[d] - Min[d]) / step) : 0;
            q[d] = (sbyte)(Math.Clamp(level, 0, 255) - 128);
        }
        return q;
    }

    /// <summary>The values the levels stand for.</summary>
    public float[] Dequantize(ReadOnlySpan<sbyte> levels)
    {
        if (levels.Length != Dimension) throw new ArgumentException($"{levels.Length} levels given to {Dimension}-dimensional int8 ranges");
        var x = new float[levels.Length];
        for (int d = 0; d < x.Length; d++) x[d] = Min[d] + (levels[d] + 128) * ((Max[d] - Min[d]) / 255f);
        return x;
    }

    public void Save(string path) => File.WriteAllText(path, ToJson() + Environment.NewLine);

    public string ToJson() => JsonSerializer.Serialize(new FileShape(Format, Model, Dimension, Texts, Min, Max), Calibrated.FileJson);

    public static Int8Ranges Load(string path) => FromJson(Calibrated.ReadFile(path, "int8 ranges"), path);

    public static Int8Ranges FromJson(string json, string source)
    {
        var file = Calibrated.Parse<FileShape>(json, source, "an int8 ranges", FormatName, f => f.Format);
        if (string.IsNullOrEmpty(file.Model)) throw new RepShiftException($"{source}: \"model\" is missing");
        if (file.Min is null || file.Max is null) throw new RepShiftException($"{source}: \"min\" and \"max\" are required");
        if (file.Min.Length != file.Dimension || file.Max.Length != file.Dimension)
            throw new RepShiftException($"{source}: \"dimension\" is {file.Dimension} but \"min\" has {file.Min.Length} values and \"max\" {file.Max.Length}");
        try { return new Int8Ranges(file.Model, file.Min, file.Max, file.Texts); }
        catch (ArgumentException e)
        {
            throw new RepShiftException($"{source}: {e.Message}", e);
        }
    }

    private sealed record FileShape(string? Format, string? Model, int Dimension, int Texts, float[]? Min, float[]? Max);
}
