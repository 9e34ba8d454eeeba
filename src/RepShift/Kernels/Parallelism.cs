namespace RepShift.Kernels;

/// <summary>
/// The one place kernels go parallel. Every kernel splits its work into independent items and calls
/// <see cref="For"/>, which runs them on one persistent <see cref="WorkerPool"/>; the degree of
/// parallelism is a process-wide setting (<c>--threads</c>).
/// </summary>
public static class Parallelism
{
    private static readonly object Gate = new();
    private static int _threads = Environment.ProcessorCount;
    private static WorkerPool? _pool;

    /// <summary>Worker count used by all kernels (the calling thread included); defaults to the number of logical cores.</summary>
    public static int Threads
    {
        get => _threads;
        set => _threads = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "threads must be at least 1");
    }

    /// <summary>Runs <paramref name="body"/> for every item in [0, count), on up to <see cref="Threads"/> threads.</summary>
    public static void For(int count, Action<int> body)
    {
        if (count <= 0) return;
        if (count == 1 || _threads == 1)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        Pool().For(count, body);
    }

    /// <summary>The pool for the current thread count, replaced (the old workers exit) when the setting changes.</summary>
    private static WorkerPool Pool()
    {
        var pool = Volatile.Read(ref _pool);
        if (pool != null && pool.Threads == _threads) return pool;
        lock (Gate)
        {
            if (_pool == null || _pool.Threads != _threads)
            {
                _pool?.Dispose();
                _pool = new WorkerPool(_threads);
            }
            return _pool;
        }
    }
}
