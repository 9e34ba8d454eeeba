using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RepShift.Compression;

namespace RepShift.Cli.Serve;

/// <summary>
/// The HTTP layer of <c>repshift serve</c>: OpenAI-compatible <c>POST /v1/embeddings</c>, <c>GET /v1/models</c>
/// and <c>GET /health</c> over a <see cref="MicroBatcher"/>. It only parses, queues and writes; batching and
/// the encoder live elsewhere.
/// </summary>
internal sealed class EmbeddingServer
{
    public const string BatchHeader = "X-RepShift-Batch-Texts";

    private readonly TextEmbedder _embedder;
    private readonly ServeOptions _options;
    private readonly MicroBatcher _batcher;
    private readonly Dictionary<string, (string Key, CompressionPlan Plan)> _presets;
    private readonly (string Key, CompressionPlan Plan) _serverPlan;

    private EmbeddingServer(TextEmbedder embedder, ServeOptions options, MicroBatcher batcher)
    {
        _embedder = embedder;
        _options = options;
        _batcher = batcher;
        _presets = Presets.Names.ToDictionary(n => n, n => Keyed(Presets.Get(n)));
        foreach (var (_, plan) in _presets.Values) plan.Validate(embedder.Encoder.Config.Layers, embedder.ModelName);
        _serverPlan = Keyed(embedder.Options.Compression);
    }

    /// <summary>
    /// A web application serving <paramref name="embedder"/> (its compression plan is the server's default).
    /// <paramref name="configure"/> picks the server (Kestrel addresses, or a test server) before it is built;
    /// <paramref name="embed"/> replaces the encoder call, for tests that must hold the worker.
    /// </summary>
    public static WebApplication Create(TextEmbedder embedder, ServeOptions options, Action<WebApplicationBuilder>? configure = null, MicroBatcher.EmbedFunction? embed = null)
    {
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxBodyBytes);
        // Disposed by the host after the server has stopped, so requests in flight at shutdown still get answers.
        builder.Services.AddSingleton(new MicroBatcher(embed ?? ((texts, plan) => embedder.Embed(texts, plan: plan)), options));
        configure?.Invoke(builder);
        var app = builder.Build();
        var server = new EmbeddingServer(embedder, options, app.Services.GetRequiredService<MicroBatcher>());
        app.MapPost("/v1/embeddings", server.EmbeddingsAsync);
        app.MapGet("/v1/models", server.Models);
        app.MapGet("/health", server.Health);
        return app;
    }

    /// <summary>Requests batch together when their plans act alike: any dense plan, or equal settings.</summary>
    private static (string Key, CompressionPlan Plan) Keyed(CompressionPlan plan) => (plan.IsDense ? "dense" : (plan with { Model = null }).ToJson(), plan);

    private IResult Health() => Results.Json(new { status = "ok", model = _embedder.ModelName, dimensions = _embedder.Dimension, queued = _batcher.Queued });

    private IResult Models() => Results.Json(new { @object = "list", data = new[] { new { id = _embedder.ModelName, @object = "model", owned_by = "repshift" } } });

    private async Task EmbeddingsAsync(HttpContext context)
    {
        try
        {
            var body = await ReadBodyAsync(context.Request, context.RequestAborted);
            var request = EmbeddingRequest.Parse(body, _embedder.ModelName, _embedder.Dimension, _options);
            var (key, plan) = request.Preset is { } p ? _presets[p] : _serverPlan;
            var work = _batcher.TryEmbed(request.Texts, key, plan, context.RequestAborted)
                ?? throw new ApiError(StatusCodes.Status503ServiceUnavailable, "the server is busy: its queue is full; retry shortly", "server_error", code: "queue_full");
            BatchedEmbeddings result;
            try
            {
                result = await work;
            }
            catch (RepShiftException e)
            {
                throw ApiError.BadRequest(e.Message, "input");
            }
            await WriteAsync(context.Response, request, result);
        }
        catch (ApiError e)
        {
            if (e.Status == StatusCodes.Status503ServiceUnavailable) context.Response.Headers.RetryAfter = "1";
            await e.WriteAsync(context.Response);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await ApiError.TooLarge($"the request body is larger than this server's limit of {_options.MaxBodyBytes} bytes").WriteAsync(context.Response);
        }
    }

    /// <summary>The whole body, refused (413) past the limit before it is all read, whatever server runs underneath.</summary>
    private async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpRequest request, CancellationToken cancellation)
    {
        var tooLarge = ApiError.TooLarge($"the request body is larger than this server's limit of {_options.MaxBodyBytes} bytes");
        if (request.ContentLength > _options.MaxBodyBytes) throw tooLarge;
        using var buffer = new MemoryStream(request.ContentLength is long n ? (int)n : 4096);
        var chunk = new byte[16384];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellation)) > 0)
        {
            if (buffer.Length + read > _options.MaxBodyBytes) throw tooLarge;
            buffer.Write(chunk, 0, read);
        }
        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }

    private async Task WriteAsync(HttpResponse response, EmbeddingRequest request, BatchedEmbeddings result)
    {
        response.ContentType = "application/json";
        // Texts in the encoder batch this request ran in: shows micro-batching at work (bench serve averages it).
        response.Headers[BatchHeader] = result.BatchTexts.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var json = new Utf8JsonWriter(response.Body);
        json.WriteStartObject();
        json.WriteString("object", "list");
        json.WriteStartArray("data");
        for (int i = 0; i < result.Vectors.Length; i++)
        {
            json.WriteStartObject();
            json.WriteString("object", "embedding");
            json.WriteNumber("index", i);
            if (request.Base64) json.WriteBase64String("embedding", LittleEndianBytes(result.Vectors[i]));
            else
            {
                json.WriteStartArray("embedding");
                foreach (float v in result.Vectors[i]) json.WriteNumberValue(v);
                json.WriteEndArray();
            }
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteString("model", _embedder.ModelName);
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", result.TotalTokens);
        json.WriteNumber("total_tokens", result.TotalTokens);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>float32 little-endian, as OpenAI's base64 encoding is (and as numpy.frombuffer reads it).</summary>
    private static byte[] LittleEndianBytes(float[] vector)
    {
        var bytes = new byte[vector.Length * sizeof(float)];
        for (int i = 0; i < vector.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), vector[i]);
        return bytes;
    }
}
