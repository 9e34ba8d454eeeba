using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace RepShift.Cli.Serve;

/// <summary>
/// A parsed and checked <c>POST /v1/embeddings</c> body (OpenAI's shape plus <c>repshift_preset</c>). Every
/// problem is an <see cref="ApiError"/> naming the field: 400 for malformed or invalid fields, 404 for another
/// model, 413 for more texts or characters than the server's limits.
/// </summary>
internal sealed record EmbeddingRequest(string[] Texts, bool Base64, string? Preset)
{
    public const string PresetField = "repshift_preset";

    public static EmbeddingRequest Parse(ReadOnlyMemory<byte> body, string modelName, int dimensions, ServeOptions limits)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            throw ApiError.BadRequest($"the request body is not valid JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw ApiError.BadRequest("the request body must be a JSON object with an 'input' field");
            if (!root.TryGetProperty("input", out var input)) throw ApiError.BadRequest("'input' is missing: give a string or an array of strings", "input");
            var texts = ReadTexts(input, limits);
            if (root.TryGetProperty("model", out var model))
            {
                if (model.ValueKind != JsonValueKind.String) throw ApiError.BadRequest("'model' must be a string", "model");
                string name = model.GetString()!;
                // Accept the Hugging Face id too (sentence-transformers/all-MiniLM-L6-v2): clients often send it.
                if (!name.Equals(modelName, StringComparison.OrdinalIgnoreCase) && !name.EndsWith("/" + modelName, StringComparison.OrdinalIgnoreCase))
                    throw new ApiError(StatusCodes.Status404NotFound, $"model '{name}' is not served here: this server runs {modelName} (or leave 'model' out)", param: "model", code: "model_not_found");
            }
            bool base64 = false;
            if (root.TryGetProperty("encoding_format", out var format))
            {
                base64 = format.ValueKind == JsonValueKind.String ? format.GetString() switch
                {
                    "float" => false,
                    "base64" => true,
                    _ => throw ApiError.BadRequest($"'encoding_format' '{format.GetString()}' is not supported: use float or base64", "encoding_format"),
                } : throw ApiError.BadRequest("'encoding_format' must be a string: float or base64", "encoding_format");
            }
            if (root.TryGetProperty("dimensions", out var dims) && !(dims.TryGetInt32(out int d) && d == dimensions))
                throw ApiError.BadRequest($"'dimensions' must be {dimensions} (or left out): {modelName} gives {dimensions}-dimensional vectors", "dimensions");
            string? preset = null;
            if (root.TryGetProperty(PresetField, out var p))
            {
                preset = p.ValueKind == JsonValueKind.String ? p.GetString()!.ToLowerInvariant() : null;
                if (preset is null || !Compression.Presets.Names.Contains(preset))
                    throw ApiError.BadRequest($"'{PresetField}' must be one of {string.Join(", ", Compression.Presets.Names)}", PresetField);
            }
            return new EmbeddingRequest(texts, base64, preset);
        }
    }

    private static string[] ReadTexts(JsonElement input, ServeOptions limits)
    {
        if (input.ValueKind == JsonValueKind.String) return [Text(input, null, limits)];
        if (input.ValueKind != JsonValueKind.Array) throw ApiError.BadRequest("'input' must be a string or an array of strings", "input");
        int count = input.GetArrayLength();
        if (count == 0) throw ApiError.BadRequest("'input' is an empty array: give at least one text", "input");
        if (count > limits.MaxInputs) throw ApiError.TooLarge($"'input' holds {count} texts; this server takes at most {limits.MaxInputs} per request", "input");
        var texts = new string[count];
        int i = 0;
        foreach (var item in input.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
                throw ApiError.BadRequest($"input[{i}] is {Describe(item.ValueKind)}, not a string: token-id arrays are not supported, send text", "input");
            texts[i] = Text(item, i, limits);
            i++;
        }
        return texts;
    }

    private static string Text(JsonElement item, int? index, ServeOptions limits)
    {
        string name = index is int i ? $"input[{i}]" : "input";
        string text = item.GetString()!;
        if (string.IsNullOrWhiteSpace(text)) throw ApiError.BadRequest($"{name} is empty: there is nothing to embed", "input");
        if (text.Length > limits.MaxCharacters)
            throw ApiError.TooLarge($"{name} has {text.Length} characters; this server takes at most {limits.MaxCharacters} per text", "input");
        return text;
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Number => "a number",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.Null => "null",
        _ => "a boolean",
    };
}
