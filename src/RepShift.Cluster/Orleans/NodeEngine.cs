namespace RepShift.Cluster.Orleans;

/// <summary>The one engine of a node (a silo), shared by its worker grains, with its signature computed once.</summary>
public sealed class NodeEngine(TextEmbedder embedder, string name) : IDisposable
{
    // One call at a time: the engine already uses every thread it was given and takes concurrent calls, so two at
    // once would run on twice the node's threads. Every lease and every part a front end sends is a new grain key,
    // hence its own activation, and Orleans ran them at once (a stack dump showed two shards in the GEMM of a
    // --threads 1 node), so the gate is here, shared by both grains; waiting calls keep the node busy between calls.
    private readonly SemaphoreSlim _gate = new(1, 1);
    private int _running;
    private int _mostAtOnce;

    public TextEmbedder Embedder { get; } = embedder;
    public EngineSignature Signature { get; } = EngineSignature.Of(embedder);
    /// <summary>How this node names itself in outcomes and errors (host:port).</summary>
    public string Name { get; } = name;

    /// <summary>The most engine calls this node has run at once (1 once it has worked: the gate's promise, checked by tests).</summary>
    public int MostAtOnce => Volatile.Read(ref _mostAtOnce);

    /// <summary>Runs <paramref name="embed"/> on the engine when no other call is running here, off the caller's scheduler.</summary>
    public async Task<T> RunAsync<T>(Func<T> embed)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            int running = Interlocked.Increment(ref _running);
            // Counted with atomics, not trusting the gate it checks.
            for (int most; running > (most = Volatile.Read(ref _mostAtOnce)) && Interlocked.CompareExchange(ref _mostAtOnce, running, most) != most;) { }
            // A thread-pool thread, not the grain's scheduler: the engine blocks on its own workers, for minutes with a shard.
            return await Task.Run(embed).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
            _gate.Release();
        }
    }

    public void Dispose()
    {
        _gate.Dispose();
        Embedder.Dispose();
    }
}
