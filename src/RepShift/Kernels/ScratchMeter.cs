namespace RepShift.Kernels;

/// <summary>
/// Counts the scratch bytes attention kernels hold while a measurement is active, and the most held at
/// once. Kernels report a buffer while a work item uses it, so the peak is the extra memory a call
/// needs beyond its inputs and outputs. The active meter flows with the execution context (into the
/// parallel workers of the measured call, not into unrelated calls running at the same time);
/// without one, reporting costs one read of an async-local.
/// </summary>
internal sealed class ScratchMeter
{
    private static readonly AsyncLocal<ScratchMeter?> Active = new();

    private long _live;
    private long _peak;

    /// <summary>Most bytes held at once since <see cref="Start"/>.</summary>
    public long Peak => Interlocked.Read(ref _peak);

    /// <summary>Makes a new meter active for this execution context and the work it starts.</summary>
    public static ScratchMeter Start()
    {
        var meter = new ScratchMeter();
        Active.Value = meter;
        return meter;
    }

    /// <summary>Ends the measurement; later reports go nowhere.</summary>
    public void Stop()
    {
        if (Active.Value == this) Active.Value = null;
    }

    public static void Acquire(long bytes)
    {
        var m = Active.Value;
        if (m == null) return;
        long now = Interlocked.Add(ref m._live, bytes);
        long peak = Interlocked.Read(ref m._peak);
        while (now > peak)
        {
            long seen = Interlocked.CompareExchange(ref m._peak, now, peak);
            if (seen == peak) break;
            peak = seen;
        }
    }

    public static void Release(long bytes)
    {
        var m = Active.Value;
        if (m != null) Interlocked.Add(ref m._live, -bytes);
    }
}
