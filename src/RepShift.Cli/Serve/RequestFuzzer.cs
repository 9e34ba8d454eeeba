using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CsCheck;

namespace RepShift.Cli.Serve;

/// <summary>One generated HTTP request: what a careless or hostile client might send.</summary>
internal sealed record FuzzRequest(string Method, string Path, string? ContentType, (string Name, string Value)[] Headers, byte[] Body)
{
    /// <summary>Printed by CsCheck for a failing case: short fields whole, the body as escaped text (bytes that are not UTF-8 as \xNN).</summary>
    public override string ToString()
    {
        var headers = string.Join("; ", Headers.Select(h => $"{h.Name}: {(h.Value.Length > 60 ? $"{h.Value[..60]}… ({h.Value.Length} chars)" : h.Value)}"));
        var body = new StringBuilder();
        foreach (byte b in Body.Take(2000)) body.Append(b is >= 0x20 and < 0x7f and not (byte)'\\' ? ((char)b).ToString() : $"\\x{b:x2}");
        string path = Path.Length > 100 ? $"{Path[..100]}… ({Path.Length} chars)" : Path;
        return $"{Method} {path} Content-Type: {ContentType ?? "(none)"} [{Headers.Length} headers: {headers}] body ({Body.Length} bytes): {body}{(Body.Length > 2000 ? "…" : "")}";
    }
}

/// <summary>What came back: status, Content-Type, the Allow header and the body.</summary>
internal sealed record FuzzResponse(int Status, string? ContentType, string? Allow, byte[] Body);

/// <summary>
/// Request fuzzing for <see cref="EmbeddingServer"/>, shared by the test (tiny model, in-process) and
/// <c>bench fuzz-requests</c> (embedded model, Kestrel): CsCheck generators of random and mutated JSON bodies
/// (wrong types, lone surrogate escapes, invalid UTF-8, other encodings, deep nesting, byte flips, cuts),
/// methods, paths, Content-Types and headers; and the property every answer must have: never a 5xx, always a
/// JSON body (an OpenAI-shaped error for 4xx).
/// </summary>
internal static class RequestFuzzer
{
    private static readonly string[] Words = ["the", "cat", "sat", "on", "a", "mat", "hello", "world", "quick", "brown", "fox", "unbelievable", "A man is playing a guitar.", "naïve", "Zürich", "東京", "ok"];

    // Controls, whitespace of every kind, combining marks, zero-width and bidi characters, CJK, a surrogate pair.
    private const string Specials = "\0\u0001\u0007\b\t\n\v\f\r\u001b\u007f\u0085\u009f \u00a0\u1680\u2000\u200a\u2028\u2029\u202f\u3000\u0301\u0308\u20dd\u200b\u200c\u200d\u2060\ufeff\u00ad\u202e\u2066\u4e00\uac00\u0915\u093f\ufffd\ud83d\ude00\"\\/{}[]:,";

    private static readonly (string, string)[] NoHeaders = [];

    private static readonly byte[][] InvalidUtf8 = [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80], [0xfe, 0xff]];

    /// <summary>Requests against a server of <paramref name="modelName"/> giving <paramref name="dimensions"/>-dimensional vectors.</summary>
    public static Gen<FuzzRequest> Requests(string modelName, int dimensions)
    {
        var method = Gen.Frequency((8, Gen.Const("POST")), (1, Gen.OneOfConst("GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "PROPFIND")));
        var path = Gen.Frequency(
            (8, Gen.Const("/v1/embeddings")),
            (2, Gen.OneOfConst("/v1/models", "/health", "/", "/v1/embeddings/", "/V1/Embeddings", "/v1/embeddings?x=1&y", "/v1/embedding", "//v1/embeddings",
                "/v1/embeddings/extra", "/%ff%fe", "/v1/%65mbeddings", "/v1/models/x")),
            // No "0": Kestrel refuses a path with %00 in it before the application runs (400, no body; documented).
            (1, Gen.String[Gen.Char["abcxyz19/%._-~+"], 0, 40].Select(s => "/" + s)),
            (1, Gen.Int[8000, 9000].Select(n => "/v1/embeddings?q=" + new string('q', n))));
        var contentType = Gen.Frequency(
            (10, Gen.Const<string?>("application/json")),
            (3, Gen.OneOfConst<string?>("application/json; charset=utf-8", "application/json; charset=UTF8", "application/json; charset=utf-16", "text/plain",
                "application/x-www-form-urlencoded", "application/vnd.api+json", "json", "application/json; charset=\"", "*/*", ";;;", "", "multipart/form-data; boundary=x")),
            (1, Gen.Const((string?)null)),
            (1, Gen.String[Gen.Char[' ', '~'], 0, 30].Select(s => (string?)s)));
        var headers = Gen.Frequency(
            (6, Gen.Const(NoHeaders)),
            (3, Gen.Select(Gen.OneOfConst("Accept", "Accept-Encoding", "Accept-Charset", "Authorization", "User-Agent", "X-Request-Id", "Content-Encoding",
                "Content-Language", "Cookie", "Origin", "Range", "If-None-Match", "OpenAI-Organization", "X-Forwarded-For"), Gen.String[Gen.Char[' ', '~'], 0, 60]).Array[1, 4]),
            (1, Gen.Int[90, 150].Select(n => Enumerable.Range(0, n).Select(i => ($"X-Fuzz-{i}", "v")).ToArray())),
            (1, Gen.Int[20_000, 50_000].Select(n => new[] { ("X-Fuzz-Large", new string('h', n)) })));
        var body = Bodies(modelName, dimensions);
        return Gen.Select(method, path, contentType, headers, body, (m, p, c, h, b) => new FuzzRequest(m, p, c, h, b));
    }

    private static Gen<byte[]> Bodies(string modelName, int dimensions)
    {
        var obj = Objects(modelName, dimensions);
        var utf8 = obj.Select(s => Encoding.UTF8.GetBytes(s));
        return Gen.Frequency(
            (6, utf8),
            (3, Gen.Select(utf8, Gen.Select(Gen.Int[0, 5], Gen.Int.NonNegative, Gen.Byte).Array[1, 4], Mutate)),
            (1, Gen.Byte.Array[0, 200]),
            (1, Gen.Select(obj, Gen.Int[0, 3], Reencode)),
            (1, Gen.Select(Gen.Int[1, 200], Gen.Bool, (depth, arrays) => Encoding.UTF8.GetBytes(
                "{\"input\": " + (arrays ? new string('[', depth) + "\"x\"" + new string(']', depth) : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth)) + "}"))),
            (1, Value(2).Select(s => Encoding.UTF8.GetBytes(s))));
    }

    /// <summary>A JSON object with each known field present or not, each right, wrongly typed or out of range, plus unknown fields.</summary>
    private static Gen<string> Objects(string modelName, int dimensions)
    {
        var text = Texts();
        var anyValue = Value(2);
        var input = Gen.Frequency(
            (5, text),
            (4, text.Array[1, 6].Select(a => "[" + string.Join(",", a) + "]")),
            (1, anyValue),
            (1, Gen.Frequency((3, text), (1, anyValue)).Array[0, 6].Select(a => "[" + string.Join(",", a) + "]")),
            (1, Gen.Int[250, 300].Select(n => "[" + string.Join(",", Enumerable.Repeat("\"a\"", n)) + "]")));
        var model = Gen.Frequency(
            (3, Gen.OneOfConst(modelName, EmbeddingRequest.ModelPrefix + modelName, "evil/" + modelName, modelName.ToUpperInvariant(), "text-embedding-3-small", "", "/" + modelName).Select(Quote)),
            (1, anyValue));
        var format = Gen.Frequency((3, Gen.OneOfConst("float", "base64", "int8", "binary", "FLOAT", "").Select(Quote)), (1, anyValue));
        var dims = Gen.Frequency((3, Gen.OneOfConst($"{dimensions}", "128", "1", $"{dimensions / 2}", "0", $"\"{dimensions}\"", $"{dimensions}.0", "-1", "1e400", "null")), (1, anyValue));
        var preset = Gen.Frequency((3, Gen.OneOfConst("none", "balanced", "fast", "TURBO", "").Select(Quote)), (1, anyValue));
        var unknown = Gen.Select(Gen.OneOfConst("user", "x", "input ", "Input", "\\u0069nput"), anyValue, (k, v) => $"\"{k}\":{v}");
        Gen<string?> Field(string name, Gen<string> value, int presentInTen) =>
            Gen.Select(Gen.Int[0, 9], value, (roll, v) => roll < presentInTen ? $"\"{name}\":{v}" : null);
        return Gen.Select(Field("input", input, 9), Field("model", model, 5), Field("encoding_format", format, 3), Field("dimensions", dims, 2),
            Field(EmbeddingRequest.PresetField, preset, 3), unknown.Array[0, 2], Gen.Int[0, 19],
            (i, m, f, d, p, extra, dup) => "{" + string.Join(",", new[] { i, m, f, d, p }.Concat(extra).Concat(dup == 0 ? ["\"input\":\"again\""] : []).Where(x => x is not null)) + "}");
    }

    /// <summary>Text as a JSON string literal: words, any UTF-16 (lone surrogates become their escape), special characters, one very long word, or empty.</summary>
    private static Gen<string> Texts() => Gen.Frequency(
        (4, Gen.OneOfConst(Words).Array[1, 12].Select(a => string.Join(" ", a))),
        (3, Gen.String[Gen.Char, 0, 40]),
        (2, Gen.String[Gen.Char[Specials], 0, 30]),
        (1, Gen.Int[0, 20_000].Select(n => new string('w', n))),
        (1, Gen.Const(""))).Select(Quote);

    /// <summary>Any JSON value down to <paramref name="depth"/> levels of nesting, as text.</summary>
    private static Gen<string> Value(int depth)
    {
        var scalar = Gen.Frequency(
            (2, Gen.OneOfConst("null", "true", "false", "0", "-0", "1e400", "-1.5e-300", "123456789012345678901234567890", "3.14")),
            (1, Gen.Int.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))),
            (2, Gen.String[Gen.Char, 0, 12].Select(Quote)));
        if (depth == 0) return scalar;
        var inner = Value(depth - 1);
        return Gen.Frequency(
            (4, scalar),
            (1, inner.Array[0, 4].Select(a => "[" + string.Join(",", a) + "]")),
            (1, Gen.Select(Gen.String[Gen.Char['a', 'z'], 0, 6], inner, (k, v) => $"\"{k}\":{v}").Array[0, 3].Select(a => "{" + string.Join(",", a) + "}")));
    }

    /// <summary>A JSON string literal of <paramref name="s"/>: controls, quotes and lone surrogates escaped, everything else as is.</summary>
    private static string Quote(string s)
    {
        var b = new StringBuilder("\"");
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) b.Append(c).Append(s[++i]);
            else if (c < 0x20 || c == '"' || c == '\\' || char.IsSurrogate(c)) b.Append($"\\u{(int)c:x4}");
            else b.Append(c);
        }
        return b.Append('"').ToString();
    }

    /// <summary>Applies byte edits: flip, insert, delete a range, cut, insert bytes that are not UTF-8, duplicate a range.</summary>
    private static byte[] Mutate(byte[] body, (int Op, int Position, byte Value)[] edits)
    {
        var bytes = new List<byte>(body);
        foreach (var (op, position, value) in edits)
        {
            int at = bytes.Count == 0 ? 0 : position % bytes.Count;
            switch (op)
            {
                case 0 when bytes.Count > 0: bytes[at] ^= (byte)(value | 1); break;
                case 1: bytes.Insert(at, value); break;
                case 2 when bytes.Count > 0: bytes.RemoveRange(at, Math.Min(1 + value % 16, bytes.Count - at)); break;
                case 3: bytes.RemoveRange(at, bytes.Count - at); break;
                case 4: bytes.InsertRange(at, InvalidUtf8[value % InvalidUtf8.Length]); break;
                case 5 when bytes.Count > 0: bytes.InsertRange(at, bytes.GetRange(at, Math.Min(1 + value % 32, bytes.Count - at))); break;
            }
        }
        return [.. bytes];
    }

    /// <summary>The JSON in another encoding: UTF-16 LE, UTF-16 BE, UTF-8 with a byte order mark, or Latin-1.</summary>
    private static byte[] Reencode(string json, int encoding) => encoding switch
    {
        0 => Encoding.Unicode.GetBytes(json),
        1 => Encoding.BigEndianUnicode.GetBytes(json),
        2 => [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(json)],
        _ => Encoding.Latin1.GetBytes(json),
    };

    public static async Task<FuzzResponse> SendAsync(HttpClient client, FuzzRequest r, CancellationToken cancellation = default)
    {
        // Absolute: relative to the base, "//v1/embeddings" would name a host.
        var uri = new Uri(client.BaseAddress!.GetLeftPart(UriPartial.Authority) + r.Path);
        using var request = new HttpRequestMessage(new HttpMethod(r.Method), uri) { Content = new ByteArrayContent(r.Body) };
        if (r.ContentType is not null) request.Content.Headers.TryAddWithoutValidation("Content-Type", r.ContentType);
        foreach (var (name, value) in r.Headers)
            if (!request.Headers.TryAddWithoutValidation(name, value)) request.Content.Headers.TryAddWithoutValidation(name, value);
        using var response = await client.SendAsync(request, cancellation);
        byte[] body = await response.Content.ReadAsByteArrayAsync(cancellation);
        return new FuzzResponse((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType,
            response.Content.Headers.Allow.Count > 0 ? string.Join(", ", response.Content.Headers.Allow) : null, body);
    }

    /// <summary>Throws unless the answer is below 500 and, where it may have a body (not HEAD), is JSON: an error object for 4xx, embeddings for 200.</summary>
    public static void Check(FuzzRequest request, FuzzResponse response)
    {
        if (response.Status >= 500) throw new InvalidOperationException($"status {response.Status}: {Encoding.UTF8.GetString(response.Body)}");
        if (request.Method == "HEAD") return;
        if (response.ContentType != "application/json") throw new InvalidOperationException($"status {response.Status} with Content-Type {response.ContentType ?? "(none)"}");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(response.Body);
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"status {response.Status} with a body that is not JSON ({e.Message}): {Encoding.UTF8.GetString(response.Body)}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (response.Status >= 400)
            {
                if (!(root.TryGetProperty("error", out var error) && error.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String
                    && message.GetString()!.Length > 0 && error.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String))
                    throw new InvalidOperationException($"status {response.Status} without an OpenAI-shaped error: {root.GetRawText()}");
                if (response.Status == 405 && response.Allow is null) throw new InvalidOperationException("405 without an Allow header");
            }
            else if (response.Status == 200 && request.Method == "POST" && !(root.TryGetProperty("data", out var data) && data.GetArrayLength() > 0))
                throw new InvalidOperationException($"200 without embeddings: {root.GetRawText()[..Math.Min(300, root.GetRawText().Length)]}");
        }
    }
}
