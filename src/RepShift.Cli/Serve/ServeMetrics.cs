using Prometheus;

namespace RepShift.Cli.Serve;

/// <summary>
/// What <c>GET /metrics</c> exposes, in Prometheus' text format (prometheus-net). Each server has its own
/// <see cref="CollectorRegistry"/>, never the library's static default, so two servers in one process (tests, bench)
/// count apart. Request counts are of <c>POST /v1/embeddings</c>; <c>model</c> is the served model's name, or
/// <c>none</c> when the request named no served model (a 404, a 401, a malformed body).
/// </summary>
internal sealed class ServeMetrics
{
    public const string NoModel = "none";

    private long _received, _answered;

    public ServeMetrics()
    {
        var factory = Metrics.WithCustomRegistry(Registry);
        Requests = factory.CreateCounter("repshift_requests_total", "POST /v1/embeddings requests answered, by model and HTTP status code", ["model", "code"]);
        Texts = factory.CreateCounter("repshift_texts_total", "Texts embedded (answered 200), by model", ["model"]);
        Tokens = factory.CreateCounter("repshift_tokens_total", "Tokens of the texts embedded (the usage figure), by model", ["model"]);
        BatchTexts = factory.CreateHistogram("repshift_batch_texts", "Texts per encoder batch the micro-batcher ran, by model", ["model"],
            new HistogramConfiguration { Buckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] });
        QueueDepth = factory.CreateGauge("repshift_queue_depth", "Requests waiting for the encoder, by model", ["model"]);
        Latency = factory.CreateHistogram("repshift_request_duration_seconds", "Time from a POST /v1/embeddings request's arrival to its answer, by model", ["model"],
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 15) });
        Ready = factory.CreateGauge("repshift_ready", "1 when every model is loaded and verified and the server is not shutting down, else 0");
    }

    public CollectorRegistry Registry { get; } = Metrics.NewCustomRegistry();
    public Counter Requests { get; }
    public Counter Texts { get; }
    public Counter Tokens { get; }
    public Histogram BatchTexts { get; }
    public Gauge QueueDepth { get; }
    public Histogram Latency { get; }
    public Gauge Ready { get; }

    /// <summary>Embeddings requests that reached the server, and those whose handling ended (answered, or cancelled by the client).</summary>
    public (long Received, long Answered) Counts => (Interlocked.Read(ref _received), Interlocked.Read(ref _answered));

    public void Received() => Interlocked.Increment(ref _received);

    public void Answered() => Interlocked.Increment(ref _answered);

    /// <summary>Gauges read at scrape time from the registry of models.</summary>
    public void Watch(ModelRegistry models) => Registry.AddBeforeCollectCallback(() =>
    {
        Ready.Set(models.State == ServerState.Ready ? 1 : 0);
        foreach (var model in models.Loaded) QueueDepth.WithLabels(model.Name).Set(model.Batcher.Queued);
    });
}
