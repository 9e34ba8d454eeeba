using System.Text.Json;

namespace RepShift.Loading;

/// <summary>
/// Reads the small JSON files of a model folder (config.json, tokenizer_config.json, …) with every problem
/// reported as a <see cref="ModelFormatException"/> that names the file and the key.
/// </summary>
internal static class JsonFile
{
    /// <summary>Parses a whole file; the result stays valid after the document is gone.</summary>
    public static JsonElement Read(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFormatException($"{path}: cannot read the file ({e.Message})", e);
        }
        ReadOnlyMemory<byte> text = bytes;
        if (text.Span.StartsWith("\uFEFF"u8)) text = text[3..]; // editors on Windows may add a BOM
        if (!System.Text.Unicode.Utf8.IsValid(text.Span)) throw new ModelFormatException($"{path}: not valid UTF-8 text, so not JSON");
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{path}: not valid JSON ({e.Message})", e);
        }
    }

    /// <summary>Parses a file whose top level must be an object.</summary>
    public static JsonElement ReadObject(string path)
    {
        var root = Read(path);
        if (root.ValueKind != JsonValueKind.Object) throw new ModelFormatException($"{path}: expected a JSON object at the top level, found {root.ValueKind}");
        return root;
    }

    public static int RequiredInt(this JsonElement obj, string key, string path) =>
        obj.OptionalInt(key, path) ?? throw new ModelFormatException($"{path}: \"{key}\" is missing; expected an integer");

    public static int? OptionalInt(this JsonElement obj, string key, string path)
    {
        if (!TryGet(obj, key, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i))
            throw new ModelFormatException($"{path}: \"{key}\" must be an integer, found {v.GetRawText()}");
        return i;
    }

    public static double? OptionalNumber(this JsonElement obj, string key, string path)
    {
        if (!TryGet(obj, key, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number) throw new ModelFormatException($"{path}: \"{key}\" must be a number, found {v.GetRawText()}");
        return v.GetDouble();
    }

    public static string? OptionalString(this JsonElement obj, string key, string path)
    {
        if (!TryGet(obj, key, out var v)) return null;
        if (v.ValueKind != JsonValueKind.String) throw new ModelFormatException($"{path}: \"{key}\" must be a string, found {v.GetRawText()}");
        return v.GetString();
    }

    public static bool? OptionalBool(this JsonElement obj, string key, string path)
    {
        if (!TryGet(obj, key, out var v)) return null;
        if (v.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            throw new ModelFormatException($"{path}: \"{key}\" must be true or false, found {v.GetRawText()}");
        return v.GetBoolean();
    }

    /// <summary>A present, non-null property (HF files write null for "use the default").</summary>
    private static bool TryGet(JsonElement obj, string key, out JsonElement value) =>
        obj.TryGetProperty(key, out value) && value.ValueKind != JsonValueKind.Null;
}
