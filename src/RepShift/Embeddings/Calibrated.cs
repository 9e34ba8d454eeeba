using System.Text.Json;
using System.Text.Json.Serialization;

namespace RepShift.Embeddings;

/// <summary>What the files calibrated for one model at one dimension count (<see cref="Int8Ranges"/>, <see cref="BinaryProjection"/>) share: reading, parsing and the model/dimension check.</summary>
internal static class Calibrated
{
    public static readonly JsonSerializerOptions FileJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.Strict,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public static string ReadFile(string path, string what)
    {
        try { return File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RepShiftException($"{path}: cannot read the {what} ({e.Message})", e);
        }
    }

    /// <summary>The file's shape, or an error naming <paramref name="source"/> when it is not JSON of that shape or its "format" is not <paramref name="formatName"/>.</summary>
    public static T Parse<T>(string json, string source, string what, string formatName, Func<T, string?> format) where T : class
    {
        T? file;
        try { file = JsonSerializer.Deserialize<T>(json, FileJson); }
        catch (JsonException e)
        {
            throw new RepShiftException($"{source}: not {what} file ({e.Message})", e);
        }
        if (file is null || format(file) != formatName) throw new RepShiftException($"{source}: not {what} file (\"format\" must be \"{formatName}\")");
        return file;
    }

    /// <summary>
    /// Throws unless a file calibrated for <c>calibratedModel</c> at <c>calibratedDimension</c> serves <c>model</c> at
    /// <c>dimensions</c>. The error names <c>property</c> (<see cref="OptionException.Property"/>), calls the file
    /// <c>source</c> ("the int8 ranges", <c>plural</c>; "the binary projection") and says which command calibrates one.
    /// </summary>
    public static void CheckFor(string calibratedModel, int calibratedDimension, string model, int dimensions, string property, string source, bool plural, string command)
    {
        string was = plural ? "were" : "was";
        if (!string.Equals(model, calibratedModel, StringComparison.OrdinalIgnoreCase))
            throw new OptionException(property, $"{source} {was} calibrated for {calibratedModel}, not {model}: calibrate for this model (repshift {command})");
        if (dimensions != calibratedDimension)
            throw new OptionException(property, $"{source} {was} calibrated at {calibratedDimension} dimensions, not {dimensions}: calibrate with --dimensions {dimensions}");
    }
}
