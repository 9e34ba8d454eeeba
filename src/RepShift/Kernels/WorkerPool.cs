using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace RepShift.Kernels;

/// <summary>
/// A fixed set of worker threads that all parallel kernels share. A forward pass makes dozens of short
/// parallel calls per batch (one per GEMM, attention, LayerNorm); keeping the workers alive and briefly
/// spinning between calls avoids waking pool threads from sleep each time. The calling thread works too,
/// so <c>threads</c> = workers + 1. A failure in any item is rethrown to the caller once all items ended. One job runs at a time; concurrent callers queue on a lock (the
/// kernels are compute-bound, so overlapping them would only share the same cores), and a kernel called
/// from inside a job runs inline.
/// </summary>
internal sealed class WorkerPool : IDisposable
{
    /// <summary>How long a worker polls for the next job before it sleeps: longer than the gaps between the kernels of a forward pass.</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 20_000; // 50 µs

    [ThreadStatic] private static bool t_inJob;

    private readonly Thread[] _workers;
    private readonly object _gate = new();
    private readonly object _sleep = new();
    private Job? _job;
    private long _generation;
    private int _sleepers;
    private volatile bool _stopping;

    public WorkerPool(int threads)
    {
        Threads = threads;
        _workers = new Thread[threads - 1];
        for (int i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"RepShift worker {i + 1}" };
            _workers[i].Start();
        }
    }

    public int Threads { get; }

    /// <summary>Runs <paramref name="body"/> for every index in [0, count) on the workers and the calling thread; rethrows the first failure.</summary>
    public void For(int count, Action<int> body)
    {
        if (t_inJob || _workers.Length == 0)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        lock (_gate)
        {
            var job = new Job(body, count);
            Volatile.Write(ref _job, job);
            Interlocked.Increment(ref _generation);
            if (Volatile.Read(ref _sleepers) > 0)
                lock (_sleep) Monitor.PulseAll(_sleep);
            Work(job);
            var spin = new SpinWait();
            while (Volatile.Read(ref job.Remaining) > 0) spin.SpinOnce(sleep1Threshold: -1);
            Volatile.Write(ref _job, null);
            if (job.Failure != null) ExceptionDispatchInfo.Capture(job.Failure).Throw();
        }
    }

    private static void Work(Job job)
    {
        t_inJob = true;
        try
        {
            int i;
            while ((i = Interlocked.Increment(ref job.Next)) < job.Count)
            {
                try { job.Body(i); }
                catch (Exception e) { Interlocked.CompareExchange(ref job.Failure, e, null); }
                Interlocked.Decrement(ref job.Remaining);
            }
        }
        finally { t_inJob = false; }
    }

    private void WorkerLoop()
    {
        long seen = 0;
        while (true)
        {
            long generation = WaitForGeneration(seen);
            if (_stopping) return;
            seen = generation;
            // A late worker may find the job finished (or already replaced): it then claims no index of it.
            if (Volatile.Read(ref _job) is { } job) Work(job);
        }
    }

    private long WaitForGeneration(long seen)
    {
        long until = Stopwatch.GetTimestamp() + SpinTicks;
        do
        {
            long g = Volatile.Read(ref _generation);
            if (g != seen || _stopping) return g;
            Thread.SpinWait(4);
        }
        while (Stopwatch.GetTimestamp() < until);
        lock (_sleep)
        {
            // Announce the sleep before the last look at the generation: a caller bumps the generation
            // before it reads _sleepers, so one of the two sees the other (both are full fences).
            Interlocked.Increment(ref _sleepers);
            try
            {
                long g;
                while ((g = Interlocked.Read(ref _generation)) == seen && !_stopping) Monitor.Wait(_sleep);
                return g;
            }
            finally { Interlocked.Decrement(ref _sleepers); }
        }
    }

    public void Dispose()
    {
        _stopping = true;
        lock (_sleep) Monitor.PulseAll(_sleep);
    }

    private sealed class Job(Action<int> body, int count)
    {
        public readonly Action<int> Body = body;
        public readonly int Count = count;
        public int Next = -1;
        public int Remaining = count;
        public Exception? Failure;
    }
}
