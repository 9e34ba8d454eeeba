using System.CommandLine;
using RepShift.Embeddings;

namespace RepShift.Cli;

/// <summary>--dimensions, --encoding, --int8-ranges and --binary-projection: the shape of the vectors a command hands out.</summary>
internal sealed class VectorOptions
{
    public readonly Option<int?> Dimensions = new Option<int?>("--dimensions")
    {
        Description = "Keep the first N dimensions and L2-normalise again (Matryoshka truncation); 1 to the model's dimension (default: all)",
    }.Range(1, 1 << 16, "the model's dimension is checked when it loads");

    public readonly Option<string?> Encoding = new("--encoding")
    {
        Description = "Vector encoding: float (default), int8 (one byte per dimension, needs --int8-ranges) or binary (sign bits packed most significant bit first, written as bytes 0-255; with --binary-projection, the bits of a calibrated projection)",
    };

    public readonly Option<string?> Int8Ranges = new Option<string?>("--int8-ranges")
    {
        Description = "Per-dimension int8 ranges for this model and --dimensions, as written by 'repshift calibrate-encoding' (default for a model folder: its " + RangesFileName("N") + ")",
    }.ExistingFile();

    public readonly Option<string?> BinaryProjection = new Option<string?>("--binary-projection")
    {
        Description = "With --encoding binary: take the bits through this projection (a rotation and per-bit thresholds calibrated on a corpus by 'repshift calibrate-encoding --encoding binary'; "
            + "Hamming search then finds more true neighbours; queries and documents need the same one, and with --prompt query the bits take its query thresholds "
            + "if it was calibrated with --queries). Default: plain sign bits, or for a model folder its " + ProjectionFileName("N") + " when there is one",
    }.ExistingFile();

    public void AddTo(Command command)
    {
        Encoding.Validators.Add(r =>
        {
            if (r.Implicit || r.Tokens.Count == 0) return;
            try { EmbeddingEncodings.Parse(r.Tokens[0].Value); }
            catch (RepShiftException e) { r.AddError($"--encoding: {e.Message}"); }
        });
        command.Options.Add(Dimensions);
        command.Options.Add(Encoding);
        command.Options.Add(Int8Ranges);
        command.Options.Add(BinaryProjection);
    }

    /// <summary>File name of the int8 ranges for <paramref name="dimensions"/> dimensions, beside a model folder's settings.</summary>
    public static string RangesFileName(string dimensions) => $"repshift_int8_ranges_{dimensions}.json";

    public static string RangesFileName(int dimensions) => RangesFileName(dimensions.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>File name of the binary projection for <paramref name="dimensions"/> dimensions, beside a model folder's settings.</summary>
    public static string ProjectionFileName(string dimensions) => $"repshift_binary_projection_{dimensions}.json";

    public static string ProjectionFileName(int dimensions) => ProjectionFileName(dimensions.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Where calibrate-encoding writes a file named <paramref name="fileName"/> by default: in the model's folder, or here for a built-in model or an .onnx file.</summary>
    public static string DefaultPath(string? model, string fileName) =>
        model is not null && Directory.Exists(model) ? Path.Combine(model, fileName) : fileName;

    /// <summary>A model folder's own file of that name, if it has one.</summary>
    private static string? InModelFolder(string? model, string fileName) =>
        model is not null && Directory.Exists(model) && File.Exists(Path.Combine(model, fileName)) ? Path.Combine(model, fileName) : null;

    /// <summary>The format for <paramref name="embedder"/>'s vectors: dimensions checked against the model, int8 ranges and the binary
    /// projection against the model and dimensions; without --int8-ranges or --binary-projection, a model folder's own file for these
    /// dimensions is used. <paramref name="queries"/>: the texts are queries (--prompt query), whose bits take the projection's query thresholds.</summary>
    public VectorFormat Format(ParseResult r, TextEmbedder embedder, string? model, bool queries = false)
    {
        var encoding = r.GetValue(Encoding) is { } name ? EmbeddingEncodings.Parse(name) : EmbeddingEncoding.Float;
        string? rangesPath = r.GetValue(Int8Ranges);
        if (rangesPath != null && encoding != EmbeddingEncoding.Int8) throw new RepShiftException("--int8-ranges is only used with --encoding int8");
        string? projectionPath = r.GetValue(BinaryProjection);
        if (projectionPath != null && encoding != EmbeddingEncoding.Binary) throw new RepShiftException("--binary-projection is only used with --encoding binary");
        int dims = r.GetValue(Dimensions) ?? embedder.Dimension;
        if (encoding == EmbeddingEncoding.Int8) rangesPath ??= InModelFolder(model, RangesFileName(dims));
        if (encoding == EmbeddingEncoding.Binary) projectionPath ??= InModelFolder(model, ProjectionFileName(dims));
        var ranges = rangesPath is null ? null : Embeddings.Int8Ranges.Load(rangesPath);
        var projection = projectionPath is null ? null : Embeddings.BinaryProjection.Load(projectionPath);
        try
        {
            return new VectorFormat(embedder.ModelName, embedder.Dimension, r.GetValue(Dimensions), encoding, ranges, projection, queries);
        }
        catch (OptionException e) when (e.Property == "Int8Ranges" && rangesPath != null)
        {
            throw new RepShiftException($"--int8-ranges {rangesPath}: {e.Message}", e);
        }
        catch (OptionException e) when (e.Property == "BinaryProjection" && projectionPath != null)
        {
            throw new RepShiftException($"--binary-projection {projectionPath}: {e.Message}", e);
        }
    }
}
