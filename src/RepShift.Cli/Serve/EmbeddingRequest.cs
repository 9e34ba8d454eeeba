using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace RepShift.Cli.Serve;

/// <summary>
/// A parsed and checked <c>POST /v1/embeddings</c> body (OpenAI's shape, <c>encoding_format</c> also int8 and binary,
/// plus <c>repshift_preset</c>). Every
/// problem is an <see cref="ApiError"/> naming the field: 400 for malformed or invalid fields (invalid UTF-8, a
/// lone surrogate escape, a wrongly typed value), 404 for a model not served, 413 for more texts or characters than
/// the server's limits. Optional fields given as JSON null count as left out; unknown fields (OpenAI's "user")
/// are ignored.
/// </summary>
internal sealed record EmbeddingRequest(string[] Texts, bool Base64, string? Preset, bool OneString, ServedModel Model)
{
    public const string PresetField = "repshift_preset";

    /// <summary>'dimensions': keep that many leading dimensions, renormalised; null keeps all.</summary>
    public int? Dimensions { get; init; }

    /// <summary>From 'encoding_format': float (also for base64, which is float32 bytes), int8 or binary.</summary>
    public Embeddings.EmbeddingEncoding Encoding { get; init; }

    /// <summary>"query" or "document" (the model's prompt for that side of retrieval, none if it has none), as in Cohere's and Voyage's APIs.</summary>
    public const string InputTypeField = "input_type";

    /// <summary>The prompt name the request asks for; null without input_type.</summary>
    public string? InputType { get; init; }

    /// <summary>The one model id prefix accepted besides the bare name: Hugging Face's for these models.</summary>
    public const string ModelPrefix = "sentence-transformers/";

    private static readonly JsonDocumentOptions JsonOptions = new() { AllowDuplicateProperties = false };

    /// <summary>
    /// Parses and checks <paramref name="body"/>; <paramref name="resolve"/> turns the request's <c>model</c> (null when left
    /// out) into the served model, or throws the <see cref="ApiError"/> to answer (<see cref="ModelRegistry.Find"/>).
    /// </summary>
    public static EmbeddingRequest Parse(ReadOnlyMemory<byte> body, Func<string?, ServedModel> resolve, ServeOptions limits)
    {
        if (InvalidUtf8At(body.Span) is int at)
            throw ApiError.BadRequest($"the request body is not valid UTF-8 (byte {at}): send JSON encoded as UTF-8");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, JsonOptions);
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
            var model = resolve(Optional(root, "model") is { } m ? String(m, "'model'", "model") : null);
            string modelName = model.Name;
            int dimensions = model.Dimension;
            bool base64 = false;
            var encoding = Embeddings.EmbeddingEncoding.Float;
            if (Optional(root, "encoding_format") is { } format)
            {
                switch (String(format, "'encoding_format'", "encoding_format"))
                {
                    case "float": break;
                    case "base64": base64 = true; break;
                    case "int8": encoding = Embeddings.EmbeddingEncoding.Int8; break;
                    case "binary": encoding = Embeddings.EmbeddingEncoding.Binary; break;
                    case var other: throw ApiError.BadRequest($"'encoding_format' '{other}' is not supported: use float, base64 (little-endian float32), int8 or binary (sign bits packed most significant bit first)", "encoding_format");
                }
            }
            int? shortened = null;
            if (Optional(root, "dimensions") is { } dims)
            {
                if (dims.ValueKind != JsonValueKind.Number)
                    throw ApiError.BadRequest($"'dimensions' is {Describe(dims.ValueKind)}: it must be an integer from 1 to {dimensions} (or left out)", "dimensions");
                if (!(dims.TryGetInt32(out int d) && d >= 1 && d <= dimensions))
                    throw ApiError.BadRequest($"'dimensions' must be an integer from 1 to {dimensions} (or left out): {modelName} gives {dimensions}-dimensional vectors, shortened ones are renormalised", "dimensions");
                shortened = d;
            }
            string? preset = null;
            if (Optional(root, PresetField) is { } p)
            {
                preset = String(p, $"'{PresetField}'", PresetField).ToLowerInvariant();
                if (!Compression.Presets.Names.Contains(preset))
                    throw ApiError.BadRequest($"'{PresetField}' must be one of {string.Join(", ", Compression.Presets.Names)}", PresetField);
            }
            string? inputType = null;
            if (Optional(root, InputTypeField) is { } it)
            {
                inputType = String(it, $"'{InputTypeField}'", InputTypeField).ToLowerInvariant();
                if (inputType is not ("query" or "document"))
                    throw ApiError.BadRequest($"'{InputTypeField}' must be query or document (or left out for no prompt)", InputTypeField);
            }
            return new EmbeddingRequest(texts, base64, preset, input.ValueKind == JsonValueKind.String, model) { Dimensions = shortened, Encoding = encoding, InputType = inputType };
        }
    }

    /// <summary>The field's value, or null when it is absent or JSON null.</summary>
    private static JsonElement? Optional(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    /// <summary>A string field's text; 400 naming it when it is another type or holds a lone surrogate escape.</summary>
    private static string String(JsonElement value, string name, string param)
    {
        if (value.ValueKind != JsonValueKind.String) throw ApiError.BadRequest($"{name} is {Describe(value.ValueKind)}, not a string", param);
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            // The body is valid UTF-8, so this is an escape such as "\ud800" without its other half.
            throw ApiError.BadRequest($"{name} holds a lone surrogate escape (\\ud800-\\udfff without its pair): not valid Unicode text", param);
        }
    }

    private static string[] ReadTexts(JsonElement input, ServeOptions limits)
    {
        if (input.ValueKind == JsonValueKind.String) return [Text(input, null, limits)];
        if (input.ValueKind != JsonValueKind.Array)
            throw ApiError.BadRequest($"'input' is {Describe(input.ValueKind)}: it must be a string or an array of strings", "input");
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

    /// <summary>How a text is named in messages: "input" for a lone string, "input[3]" in an array.</summary>
    public string TextName(int index) => OneString ? "input" : $"input[{index}]";

    private static string Text(JsonElement item, int? index, ServeOptions limits)
    {
        string name = index is int i ? $"input[{i}]" : "input";
        string text = String(item, name, "input");
        if (text.Length > limits.MaxCharacters)
            throw ApiError.TooLarge($"{name} has {text.Length} characters; this server takes at most {limits.MaxCharacters} per text", "input");
        return text;
    }

    /// <summary>The offset of the first byte that is not valid UTF-8, or null.</summary>
    private static int? InvalidUtf8At(ReadOnlySpan<byte> bytes)
    {
        if (Utf8.IsValid(bytes)) return null;
        int at = 0;
        while (at < bytes.Length)
        {
            if (Rune.DecodeFromUtf8(bytes[at..], out _, out int used) != OperationStatus.Done) return at;
            at += used;
        }
        return null;
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.Null => "null",
        _ => "a boolean",
    };
}
