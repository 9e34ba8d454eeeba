using Microsoft.AspNetCore.Http;

namespace RepShift.Cli.Serve;

/// <summary>Where a server is in its life: what <c>/health/ready</c> reports.</summary>
internal enum ServerState
{
    /// <summary>Listening, models still loading: embedding requests get 503 <c>model_loading</c>.</summary>
    Loading,

    /// <summary>Every model loaded and verified.</summary>
    Ready,

    /// <summary>A model failed to load or to verify; the server stops.</summary>
    Failed,

    /// <summary>Shutdown has begun: queued requests drain, new ones get 503 <c>shutting_down</c>.</summary>
    Stopping,
}

/// <summary>
/// The models a server answers for (name → engine and batcher), the one place a request's <c>model</c> is looked up.
/// Models load on a background thread after the server listens (<see cref="StartLoading"/>), one after the other, and
/// each is verified by embedding <see cref="ProbeText"/> before any request reaches it; the server is ready only once
/// all are. Disposed by the host after the server stops, so requests in flight at shutdown still get answers.
/// </summary>
internal sealed class ModelRegistry : IAsyncDisposable
{
    /// <summary>
    /// A model to serve: <paramref name="Load"/> runs on the loading thread; <paramref name="Owned"/>: the registry disposes
    /// what it returns (false for an engine the caller keeps, as the tests' shared one).
    /// </summary>
    public sealed record Source(string Label, Func<TextEmbedder> Load, bool Owned = true);

    /// <summary>The text each model embeds before it is served: a model that cannot embed it is not ready.</summary>
    public const string ProbeText = "Readiness probe: the quick brown fox jumps over the lazy dog.";

    private readonly IReadOnlyList<Source> _sources;
    private readonly ServeOptions _options;
    private readonly Func<TextEmbedder, MicroBatcher.EmbedFunction>? _embed;
    private readonly Action<string, int>? _batchRan;
    private readonly IDisposable? _shared;
    private readonly bool _remote;
    private readonly object _gate = new();
    private readonly List<(ServedModel Model, bool Owned)> _loaded = [];
    private volatile ServedModel[] _ready = [];
    private Task? _loading;
    private TimeSpan? _shutdownTimeout;
    private volatile ServerState _state = ServerState.Loading;

    /// <param name="embed">Replaces a model's encoder call (tests that hold the worker); null: <see cref="TextEmbedder.Embed(IReadOnlyList{string}, IProgress{int}?, CancellationToken, Compression.CompressionPlan?)"/>.</param>
    /// <param name="batchRan">Told each encoder batch's model and text count (metrics).</param>
    /// <param name="shared">Disposed after every model: the compute context the models share, when they do.</param>
    /// <param name="remote">
    /// <paramref name="embed"/> sends the texts to a cluster (<c>serve --cluster</c>): readiness waits until the probe
    /// went through it and came back equal to the local engine's vector, however long the nodes take to come up.
    /// </param>
    public ModelRegistry(IReadOnlyList<Source> sources, ServeOptions options, Func<TextEmbedder, MicroBatcher.EmbedFunction>? embed = null,
        Action<string, int>? batchRan = null, IDisposable? shared = null, bool remote = false)
    {
        if (sources.Count == 0) throw new RepShiftException("no model to serve: give --model at least once");
        _sources = sources;
        _options = options;
        _embed = embed;
        _batchRan = batchRan;
        _shared = shared;
        _remote = remote;
    }

    public ServerState State => _state;

    /// <summary>Why loading failed, once <see cref="State"/> is <see cref="ServerState.Failed"/>.</summary>
    public Exception? LoadError { get; private set; }

    /// <summary>Called once on the loading thread when a model fails to load (the server stops itself).</summary>
    public Action<Exception>? OnFailed { get; set; }

    /// <summary>Called on the loading thread while a remote model waits for its cluster, with why (each distinct reason once).</summary>
    public Action<string>? OnWaiting { get; set; }

    /// <summary>Called once on the loading thread when every model is ready.</summary>
    public Action? OnReady { get; set; }

    /// <summary>How many models there are to serve.</summary>
    public int Count => _sources.Count;

    /// <summary>The models loaded so far, in --model order.</summary>
    public IReadOnlyList<ServedModel> Loaded
    {
        get
        {
            lock (_gate) return [.. _loaded.Select(m => m.Model)];
        }
    }

    /// <summary>Starts loading on a background thread (once); the task ends when every model is loaded or one failed.</summary>
    public Task StartLoading()
    {
        lock (_gate) return _loading ??= Task.Factory.StartNew(Load, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>
    /// The model a request names: its served name or <c>sentence-transformers/</c> + name (case-insensitive); null is the
    /// only model when there is one. 503 until ready, 400 when several are served and none is named, 404 for another.
    /// </summary>
    public ServedModel Find(string? requested)
    {
        // The state first: _ready is published before _state turns Ready, so a reader that sees Ready sees the models.
        var state = _state;
        var models = _ready;
        switch (state)
        {
            case ServerState.Loading:
                throw ApiError.Unavailable($"the server is still loading its models ({Loaded.Count} of {Count} ready); retry shortly (GET /health/ready answers 200 once it is ready)", "model_loading");
            case ServerState.Failed:
                throw ApiError.Unavailable($"the server failed to load its models and is stopping: {LoadError?.Message}", "model_load_failed");
            case ServerState.Stopping when models.Length == 0:
                throw ApiError.Unavailable("the server is shutting down: retry on another instance or after it restarts", "shutting_down");
        }
        if (requested is null)
        {
            if (models.Length == 1) return models[0];
            throw ApiError.BadRequest($"'model' is missing: this server serves {Names(models)}; name one", "model");
        }
        foreach (var m in models)
            if (m.Answers(requested)) return m;
        string served = models.Length == 1
            ? $"this server runs {models[0].Name} (also accepted as {EmbeddingRequest.ModelPrefix}{models[0].Name}, or leave 'model' out)"
            : $"this server runs {Names(models)} (each also accepted behind {EmbeddingRequest.ModelPrefix})";
        throw new ApiError(StatusCodes.Status404NotFound, $"model '{requested}' is not served here: {served}", param: "model", code: "model_not_found");
    }

    private static string Names(IEnumerable<ServedModel> models) => string.Join(", ", models.Select(m => m.Name));

    /// <summary>
    /// From now on nothing new is taken: readiness is false, every batcher stops taking requests and runs what it holds
    /// until <paramref name="timeout"/>. A model still loading is served to no one.
    /// </summary>
    public void BeginShutdown(TimeSpan timeout)
    {
        lock (_gate)
        {
            _shutdownTimeout = timeout;
            if (_state != ServerState.Failed) _state = ServerState.Stopping;
            foreach (var (model, _) in _loaded) model.Batcher.BeginShutdown(timeout);
        }
    }

    private void Load()
    {
        try
        {
            foreach (var source in _sources)
            {
                if (_state != ServerState.Loading) return;
                var embedder = source.Load();
                MicroBatcher? batcher = null;
                try
                {
                    Verify(embedder);
                    lock (_gate)
                    {
                        if (_loaded.Any(m => m.Model.Name.Equals(embedder.ModelName, StringComparison.OrdinalIgnoreCase)))
                            throw new RepShiftException($"two --model options give the served name '{embedder.ModelName}' ({source.Label}); a request could not tell them apart: serve each once");
                    }
                    string name = embedder.ModelName;
                    var embed = _embed?.Invoke(embedder) ?? Embed(embedder);
                    if (_remote && !VerifyRemote(embedder, embed))
                    {
                        // Shutdown began while the cluster was awaited: nothing to serve.
                        if (source.Owned) embedder.Dispose();
                        return;
                    }
                    batcher = new MicroBatcher(embed, _options, _batchRan is { } ran ? texts => ran(name, texts) : null);
                    var model = new ServedModel(embedder, batcher);
                    lock (_gate)
                    {
                        _loaded.Add((model, source.Owned));
                        if (_shutdownTimeout is { } t) batcher.BeginShutdown(t);
                    }
                }
                catch
                {
                    batcher?.DisposeAsync().AsTask().GetAwaiter().GetResult();
                    if (source.Owned) embedder.Dispose();
                    throw;
                }
            }
            lock (_gate)
            {
                _ready = [.. _loaded.Select(m => m.Model)];
                if (_state != ServerState.Loading) return;
                _state = ServerState.Ready;
            }
            OnReady?.Invoke();
        }
        catch (Exception e)
        {
            lock (_gate)
            {
                LoadError = e;
                _state = ServerState.Failed;
            }
            OnFailed?.Invoke(e);
        }
    }

    private static MicroBatcher.EmbedFunction Embed(TextEmbedder embedder) => (texts, plan, prompt, cancellation) => embedder.Embed(texts, cancellation: cancellation, plan: plan, prompt: prompt);

    /// <summary>The probe must give a finite, non-zero vector of the model's width under the server's plan.</summary>
    private static void Verify(TextEmbedder embedder)
    {
        var vector = embedder.Embed([ProbeText]).Vectors[0];
        double norm = 0;
        foreach (float v in vector) norm += (double)v * v;
        if (vector.Length != embedder.Dimension || !double.IsFinite(norm) || norm == 0)
            throw new RepShiftException($"{embedder.ModelName}: the readiness probe gave {(vector.Length != embedder.Dimension ? $"{vector.Length} numbers, not {embedder.Dimension}" : "a zero or non-finite vector")}; the model's weights are broken");
    }

    /// <summary>
    /// Sends the probe through the cluster until a node answers (false when shutdown began first); its vector must be
    /// the local engine's bit for bit. Nodes of another engine refuse, which fails loading like a broken model.
    /// </summary>
    private bool VerifyRemote(TextEmbedder embedder, MicroBatcher.EmbedFunction embed)
    {
        var expected = embedder.Embed([ProbeText]).Vectors[0];
        string? told = null;
        while (_state == ServerState.Loading)
        {
            try
            {
                var vector = embed([ProbeText], embedder.Options.Compression, null, CancellationToken.None).Vectors[0];
                if (!vector.AsSpan().SequenceEqual(expected))
                    throw new RepShiftException($"{embedder.ModelName}: the cluster's probe vector differs from this server's engine; start the nodes with the same model and plan");
                return true;
            }
            catch (RepShift.Cluster.Orleans.ClusterUnavailableException e) when (e.Code == "cluster_unavailable")
            {
                if (told != e.Code) OnWaiting?.Invoke(e.Message);
                told = e.Code;
                Thread.Sleep(500);
            }
            catch (RepShift.Cluster.Orleans.ClusterUnavailableException e)
            {
                throw new RepShiftException(e.Message);
            }
        }
        return false;
    }

    /// <summary>Waits for loading to end, finishes what the batchers hold (within the shutdown deadline), then disposes the engines.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_loading is { } loading) await loading.ConfigureAwait(false);
        List<(ServedModel Model, bool Owned)> loaded;
        lock (_gate) loaded = [.. _loaded];
        foreach (var (model, _) in loaded) await model.Batcher.DisposeAsync().ConfigureAwait(false);
        foreach (var (model, owned) in loaded)
            if (owned) model.Embedder.Dispose();
        _shared?.Dispose();
    }
}
