using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using Prometheus;
using RepShift.Compression;
using RepShift.Embeddings;

namespace RepShift.Cli.Serve;

/// <summary>
/// The HTTP layer of <c>repshift serve</c>: OpenAI-compatible <c>POST /v1/embeddings</c> and <c>GET /v1/models</c>
/// over a <see cref="ModelRegistry"/> (one engine and <see cref="MicroBatcher"/> per model; the request's <c>model</c>
/// picks one), operations endpoints (<c>/health/live</c>, <c>/health/ready</c>, <c>/metrics</c>, and <c>/health</c> as
/// before), the optional API key. It only parses, queues and writes; batching and the encoder live elsewhere. Every
/// error is an OpenAI-shaped JSON body (<see cref="ApiError"/>, <see cref="ErrorPages"/>).
/// </summary>
internal sealed class EmbeddingServer
{
    public const string BatchHeader = "X-RepShift-Batch-Texts";

    /// <summary>
    /// How long the host waits past <see cref="ServeOptions.ShutdownTimeout"/> for answers to be written: the encoder
    /// call running at the deadline stops only at its next batch boundary.
    /// </summary>
    public static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(10);

    private const string EmbeddingsPath = "/v1/embeddings";

    // HttpContext.Items key: the served model a request resolved to, for the metrics' label.
    private static readonly object ModelItem = new();

    private readonly ModelRegistry _models;
    private readonly ServeOptions _options;
    private readonly ServeMetrics _metrics;

    private EmbeddingServer(ModelRegistry models, ServeOptions options, ServeMetrics metrics)
    {
        _models = models;
        _options = options;
        _metrics = metrics;
    }

    /// <summary>
    /// A web application serving <paramref name="embedder"/>, already loaded (its compression plan is the server's
    /// default): it is verified before this returns, so the server is ready as soon as it starts. The caller keeps
    /// and disposes the engine. <paramref name="configure"/> picks the server (Kestrel addresses, or a test server)
    /// before it is built; <paramref name="embed"/> replaces the encoder call, for tests that must hold the worker.
    /// </summary>
    public static WebApplication Create(TextEmbedder embedder, ServeOptions options, Action<WebApplicationBuilder>? configure = null, MicroBatcher.EmbedFunction? embed = null)
    {
        var app = Create([new ModelRegistry.Source(embedder.ModelName, () => embedder, Owned: false)], options, configure, embed is null ? null : _ => embed);
        var registry = app.Services.GetRequiredService<ModelRegistry>();
        registry.StartLoading().GetAwaiter().GetResult();
        if (registry.LoadError is { } error)
        {
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
            ExceptionDispatchInfo.Throw(error);
        }
        return app;
    }

    /// <summary>
    /// A web application serving <paramref name="models"/>, loaded one after the other once the server has started
    /// (readiness reports it; a failure stops the application and is in <see cref="ModelRegistry.LoadError"/>).
    /// <paramref name="embed"/> replaces each model's encoder call (tests); <paramref name="shared"/> (the compute
    /// context the models share) is disposed after them. <paramref name="remote"/>: <paramref name="embed"/> forwards to a
    /// cluster (<c>serve --cluster</c>), and readiness waits for the cluster to answer the probe.
    /// </summary>
    public static WebApplication Create(IReadOnlyList<ModelRegistry.Source> models, ServeOptions options, Action<WebApplicationBuilder>? configure = null,
        Func<TextEmbedder, MicroBatcher.EmbedFunction>? embed = null, IDisposable? shared = null, bool remote = false)
    {
        options.Validate();
        var metrics = new ServeMetrics();
        var registry = new ModelRegistry(models, options, embed, (model, texts) => metrics.BatchTexts.WithLabels(model).Observe(texts), shared, remote);
        metrics.Watch(registry);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => ErrorPages.ConfigureKestrel(k, options));
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.ShutdownTimeout + ShutdownGrace);
        // Disposed by the host after the server has stopped, so requests in flight at shutdown still get answers.
        builder.Services.AddSingleton(registry);
        builder.Services.AddSingleton(metrics);
        configure?.Invoke(builder);
        var app = builder.Build();
        var server = new EmbeddingServer(registry, options, metrics);
        // Loading starts once the server listens, so readiness can be watched from outside while it runs.
        app.Lifetime.ApplicationStarted.Register(() => registry.StartLoading());
        // Before Kestrel stops: from here readiness is false, new requests get 503 and the queues drain until the deadline.
        app.Lifetime.ApplicationStopping.Register(() => registry.BeginShutdown(options.ShutdownTimeout));
        registry.OnFailed = _ =>
        {
            if (app.Lifetime.ApplicationStarted.IsCancellationRequested) app.Lifetime.StopApplication();
        };
        app.Use(server.CountAsync);
        ErrorPages.Use(app);
        if (options.ApiKey is { } key)
        {
            var apiKey = new ApiKey(key);
            app.Use(async (context, next) =>
            {
                if (ApiKey.Guards(context.Request.Path, options.MetricsAuth) && apiKey.Check(context.Request) is { } refusal)
                {
                    await refusal.WriteAsync(context.Response);
                    return;
                }
                await next(context);
            });
        }
        app.MapPost(EmbeddingsPath, server.EmbeddingsAsync);
        app.MapMethods("/v1/models", [HttpMethods.Get, HttpMethods.Head], server.Models);
        app.MapMethods("/health", [HttpMethods.Get, HttpMethods.Head], server.Health);
        app.MapMethods("/health/live", [HttpMethods.Get, HttpMethods.Head], () => Results.Json(new { status = "live" }));
        app.MapMethods("/health/ready", [HttpMethods.Get, HttpMethods.Head], server.Ready);
        app.MapMetrics("/metrics", metrics.Registry);
        return app;
    }

    /// <summary>Embeddings requests the server of <paramref name="app"/> has received and answered (or seen cancelled by their client).</summary>
    public static (long Received, long Answered) Counts(WebApplication app) => app.Services.GetRequiredService<ServeMetrics>().Counts;

    /// <summary>Counts every embeddings request (status code, model, latency) and what was received and answered.</summary>
    private async Task CountAsync(HttpContext context, RequestDelegate next)
    {
        if (!context.Request.Path.Equals(EmbeddingsPath, StringComparison.OrdinalIgnoreCase))
        {
            await next(context);
            return;
        }
        _metrics.Received();
        long start = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            string model = context.Items[ModelItem] as string ?? ServeMetrics.NoModel;
            string code = context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted
                ? "cancelled"
                : context.Response.StatusCode.ToString(CultureInfo.InvariantCulture);
            _metrics.Requests.WithLabels(model, code).Inc();
            _metrics.Latency.WithLabels(model).Observe(Stopwatch.GetElapsedTime(start).TotalSeconds);
            _metrics.Answered();
        }
    }

    private IResult Health()
    {
        var models = _models.Loaded;
        return Results.Json(new
        {
            status = "ok",
            state = StateName(_models.State),
            model = models.Count > 0 ? models[0].Name : null,
            dimensions = models.Count > 0 ? models[0].Dimension : (int?)null,
            queued = models.Sum(m => m.Batcher.Queued),
            models = models.Select(m => new { id = m.Name, dimensions = m.Dimension, queued = m.Batcher.Queued }),
        });
    }

    /// <summary>200 once every model is loaded and verified, 503 before that and from the start of shutdown.</summary>
    private IResult Ready()
    {
        var state = _models.State;
        return Results.Json(new
        {
            status = StateName(state),
            models = _models.Loaded.Select(m => m.Name),
            expected = _models.Count,
            error = _models.LoadError?.Message,
        }, statusCode: state == ServerState.Ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    private static string StateName(ServerState state) => state.ToString().ToLowerInvariant();

    private IResult Models() => Results.Json(new
    {
        @object = "list",
        data = _models.Loaded.Select(m => new { id = m.Name, @object = "model", owned_by = "repshift" }),
    });

    private async Task EmbeddingsAsync(HttpContext context)
    {
        try
        {
            CheckContentType(context.Request);
            var body = await ReadBodyAsync(context.Request, context.RequestAborted);
            var request = EmbeddingRequest.Parse(body, requested =>
            {
                var found = _models.Find(requested);
                context.Items[ModelItem] = found.Name;
                return found;
            }, _options);
            var model = request.Model;
            var format = Format(request, model);
            for (int i = 0; i < request.Texts.Length; i++)
            {
                // The one rule for texts with nothing to embed (the tokenizer's): every such text would get the
                // vector of a bare [CLS] [SEP], so it is a 400 naming it; an unknown word still counts ([UNK]).
                if (!model.Embedder.Tokenizer.HasWordPieces(request.Texts[i]))
                    throw ApiError.BadRequest($"{request.TextName(i)} has nothing to embed: it is empty or tokenizes to no word pieces (only whitespace, control characters or characters the vocabulary drops)", "input");
            }
            var (key, plan) = model.Plan(request.Preset);
            var work = model.Batcher.TryEmbed(request.Texts, key, plan, context.RequestAborted, request.InputType)
                ?? throw (model.Batcher.Stopping
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
            catch (RepShift.Cluster.Orleans.ClusterUnavailableException e)
            {
                // serve --cluster: no node answered in time, or the nodes run another engine.
                throw ApiError.Unavailable(e.Message, e.Code);
            }
            _metrics.Texts.WithLabels(model.Name).Inc(result.Vectors.Length);
            _metrics.Tokens.WithLabels(model.Name).Inc(result.TotalTokens);
            await WriteAsync(context.Response, request, format, result);
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

    /// <summary>The request's dimensions and encoding for this model; int8 takes the server's ranges for this model and dimension count,
    /// binary its projection for them if it has one (plain sign bits if not), with its query thresholds for input_type query.</summary>
    private VectorFormat Format(EmbeddingRequest request, ServedModel model)
    {
        int dims = request.Dimensions ?? model.Dimension;
        Int8Ranges? ranges = null;
        if (request.Encoding == EmbeddingEncoding.Int8)
        {
            var mine = _options.Int8Ranges.Where(x => x.Model.Equals(model.Name, StringComparison.OrdinalIgnoreCase)).ToList();
            ranges = mine.FirstOrDefault(x => x.Dimension == dims)
                ?? throw ApiError.BadRequest(mine.Count == 0
                    ? $"'encoding_format' int8 needs ranges calibrated for {model.Name}, and this server has none (start it with --int8-ranges FILE from 'repshift calibrate-encoding')"
                    : $"'encoding_format' int8 has ranges for {model.Name} at {string.Join(", ", mine.Select(x => x.Dimension))} dimensions, not {dims}: ask for those 'dimensions'", "encoding_format");
        }
        var projection = request.Encoding != EmbeddingEncoding.Binary ? null
            : _options.BinaryProjections.FirstOrDefault(x => x.Model.Equals(model.Name, StringComparison.OrdinalIgnoreCase) && x.Dimension == dims);
        return new VectorFormat(model.Name, model.Dimension, dims, request.Encoding, ranges, projection, queries: request.InputType == "query");
    }

    private async Task WriteAsync(HttpResponse response, EmbeddingRequest request, VectorFormat format, BatchedEmbeddings result)
    {
        response.ContentType = "application/json";
        // Texts in the encoder batch this request ran in: shows micro-batching at work (bench serve averages it).
        response.Headers[BatchHeader] = result.BatchTexts.ToString(CultureInfo.InvariantCulture);
        await using var json = new Utf8JsonWriter(response.Body);
        json.WriteStartObject();
        json.WriteString("object", "list");
        json.WriteStartArray("data");
        for (int i = 0; i < result.Vectors.Length; i++)
        {
            json.WriteStartObject();
            json.WriteString("object", "embedding");
            json.WriteNumber("index", i);
            if (request.Base64) json.WriteBase64String("embedding", LittleEndianBytes(format.Shorten(result.Vectors[i])));
            else
            {
                json.WritePropertyName("embedding");
                format.WriteJsonArray(json, result.Vectors[i]);
            }
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteString("model", request.Model.Name);
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
