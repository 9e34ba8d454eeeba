using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using RepShift.Compression;

namespace RepShift.Cli.Serve;

/// <summary>
/// The HTTP layer of <c>repshift serve</c>: OpenAI-compatible <c>POST /v1/embeddings</c>, <c>GET /v1/models</c>
/// and <c>GET /health</c> over a <see cref="MicroBatcher"/>. It only parses, queues and writes; batching and
/// the encoder live elsewhere. Every error is an OpenAI-shaped JSON body (<see cref="ApiError"/>, <see cref="ErrorPages"/>).
/// </summary>
internal sealed class EmbeddingServer
{
    public const string BatchHeader = "X-RepShift-Batch-Texts";

    /// <summary>
    /// How long the host waits past <see cref="ServeOptions.ShutdownTimeout"/> for answers to be written: the encoder
    /// call running at the deadline stops only at its next batch boundary.
    /// </summary>
    public static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(10);

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
        _presets = Presets.Names.ToDictionary(n => n, n => Keyed(Presets.Get(n, embedder.ModelName)));
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
        builder.WebHost.ConfigureKestrel(k => ErrorPages.ConfigureKestrel(k, options));
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.ShutdownTimeout + ShutdownGrace);
        // Disposed by the host after the server has stopped, so requests in flight at shutdown still get answers.
        builder.Services.AddSingleton(new MicroBatcher(embed ?? ((texts, plan, prompt, cancellation) => embedder.Embed(texts, cancellation: cancellation, plan: plan, prompt: prompt)), options));
        configure?.Invoke(builder);
        var app = builder.Build();
        var batcher = app.Services.GetRequiredService<MicroBatcher>();
        // Before Kestrel stops: from here new requests get 503 and the queue drains until the deadline.
        app.Lifetime.ApplicationStopping.Register(() => batcher.BeginShutdown(options.ShutdownTimeout));
        var server = new EmbeddingServer(embedder, options, batcher);
        ErrorPages.Use(app);
        app.MapPost("/v1/embeddings", server.EmbeddingsAsync);
        app.MapMethods("/v1/models", [HttpMethods.Get, HttpMethods.Head], server.Models);
        app.MapMethods("/health", [HttpMethods.Get, HttpMethods.Head], server.Health);
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
            CheckContentType(context.Request);
            var body = await ReadBodyAsync(context.Request, context.RequestAborted);
            var request = EmbeddingRequest.Parse(body, _embedder.ModelName, _embedder.Dimension, _options);
            for (int i = 0; i < request.Texts.Length; i++)
            {
                // The one rule for texts with nothing to embed (the tokenizer's): every such text would get the
                // vector of a bare [CLS] [SEP], so it is a 400 naming it; an unknown word still counts ([UNK]).
                if (!_embedder.Tokenizer.HasWordPieces(request.Texts[i]))
                    throw ApiError.BadRequest($"{request.TextName(i)} has nothing to embed: it is empty or tokenizes to no word pieces (only whitespace, control characters or characters the vocabulary drops)", "input");
            }
            var (key, plan) = request.Preset is { } p ? _presets[p] : _serverPlan;
            var work = _batcher.TryEmbed(request.Texts, key, plan, context.RequestAborted, request.InputType)
                ?? throw (_batcher.Stopping
                    ? ApiError.Unavailable("the server is shutting down: retry on another instance or after it restarts", "shutting_down")
                    : ApiError.Unavailable("the server is busy: its queue is full; retry shortly", "queue_full"));
            BatchedEmbeddings result;
            try
            {
                result = await work;
            }
            catch (RepShiftException e)
            {
                throw ApiError.BadRequest(e.Message, "input");
            }
            catch (ShuttingDownException e)
            {
                throw ApiError.Unavailable(e.Message, "shutting_down");
            }
            await WriteAsync(context.Response, request, result);
        }
        catch (ApiError e)
        {
            await e.WriteAsync(context.Response);
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel's refusals of the body (over MaxRequestBodySize, too slow, cut short) as JSON.
            await ApiError.ForStatus(e.StatusCode, context.Request).WriteAsync(context.Response);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            // The client has gone (cancelled, or the connection reset mid-body): there is no one to answer.
        }
    }

    /// <summary>415 unless the body is declared JSON (application/json or a +json type) in UTF-8, as OpenAI's clients send it.</summary>
    private static void CheckContentType(HttpRequest request)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
            || !(type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || type.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase)))
            throw new ApiError(StatusCodes.Status415UnsupportedMediaType,
                $"Content-Type is {(request.ContentType is null ? "missing" : $"'{request.ContentType}'")}: send the body as application/json", code: "unsupported_media_type");
        if (type.Charset.HasValue && !(type.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || type.Charset.Equals("utf8", StringComparison.OrdinalIgnoreCase)))
            throw new ApiError(StatusCodes.Status415UnsupportedMediaType, $"charset '{type.Charset}' is not supported: send the JSON body as UTF-8", code: "unsupported_media_type");
    }

    /// <summary>
    /// The whole body, refused (413) past the limit before it is all read, whatever server runs underneath, and
    /// (408) when it has not all arrived within <see cref="ServeOptions.BodyTimeout"/>.
    /// </summary>
    private async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpRequest request, CancellationToken aborted)
    {
        var tooLarge = ApiError.TooLarge($"the request body is larger than this server's limit of {_options.MaxBodyBytes} bytes");
        if (request.ContentLength > _options.MaxBodyBytes) throw tooLarge;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        timeout.CancelAfter(_options.BodyTimeout);
        using var buffer = new MemoryStream(request.ContentLength is long n ? (int)n : 4096);
        var chunk = new byte[16384];
        int read;
        try
        {
            while ((read = await request.Body.ReadAsync(chunk, timeout.Token)) > 0)
            {
                if (buffer.Length + read > _options.MaxBodyBytes) throw tooLarge;
                buffer.Write(chunk, 0, read);
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !aborted.IsCancellationRequested)
        {
            throw new ApiError(StatusCodes.Status408RequestTimeout,
                $"the request body did not arrive within {_options.BodyTimeout.TotalSeconds:0.###} s ({buffer.Length} bytes came)", code: "timeout");
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
