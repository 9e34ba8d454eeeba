namespace RepShift.Cluster.Orleans;

/// <summary>The one engine of a node (a silo), shared by its worker grains, with its signature computed once.</summary>
public sealed class NodeEngine(TextEmbedder embedder, string name) : IDisposable
{
    // One shard at a time: the engine already uses every thread it was given and takes concurrent calls, so two
    // shards at once would run on twice the node's threads. Orleans did start two at once on one node (the
    // coordinator keeps two in flight per node; a stack dump showed both in the GEMM), so the gate is here, not in
    // the grain; the second shard waits at it, which keeps the node busy between shards.
    private readonly SemaphoreSlim _shardGate = new(1, 1);
    private int _shardsRunning;
    private int _mostShardsAtOnce;

    public TextEmbedder Embedder { get; } = embedder;
    public EngineSignature Signature { get; } = EngineSignature.Of(embedder);
    /// <summary>How this node names itself in outcomes and errors (host:port).</summary>
    public string Name { get; } = name;

    /// <summary>The most shards this node has embedded at once (1 once it has worked: the gate's promise, checked by tests).</summary>
    public int MostShardsAtOnce => Volatile.Read(ref _mostShardsAtOnce);

    /// <summary>Runs <paramref name="embed"/> for one shard when no other shard is running here, off the caller's scheduler.</summary>
    public async Task<T> RunShardAsync<T>(Func<T> embed)
    {
        await _shardGate.WaitAsync().ConfigureAwait(false);
        try
        {
            int running = Interlocked.Increment(ref _shardsRunning);
            int most;
            while (running > (most = Volatile.Read(ref _mostShardsAtOnce)) && Interlocked.CompareExchange(ref _mostShardsAtOnce, running, most) != most) { }
            // A thread-pool thread, not the grain's scheduler: the engine runs its own workers for minutes at a time.
            return await Task.Run(embed).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _shardsRunning);
            _shardGate.Release();
        }
    }

    public void Dispose()
    {
        _shardGate.Dispose();
        Embedder.Dispose();
    }
}
