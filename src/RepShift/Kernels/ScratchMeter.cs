namespace RepShift.Kernels;

/// <summary>
/// Counts the scratch bytes a <see cref="ComputeContext"/>'s kernels hold, on whichever of its threads
/// they run, and the most held at once since the last <see cref="ResetPeak"/>: the extra memory a call
/// needs beyond its inputs and outputs. Kernels report a buffer while a work item uses it.
/// </summary>
public sealed class ScratchMeter
{
    private long _live;
    private long _peak;

    /// <summary>Bytes held now.</summary>
    public long Live => Interlocked.Read(ref _live);

    /// <summary>Most bytes held at once since <see cref="ResetPeak"/>.</summary>
    public long Peak => Interlocked.Read(ref _peak);

    /// <summary>Starts a new measurement: the peak becomes what is held now.</summary>
    public void ResetPeak() => Interlocked.Exchange(ref _peak, Interlocked.Read(ref _live));

    internal void Acquire(long bytes)
    {
        long now = Interlocked.Add(ref _live, bytes);
        long peak = Interlocked.Read(ref _peak);
        while (now > peak)
        {
            long seen = Interlocked.CompareExchange(ref _peak, now, peak);
            if (seen == peak) break;
            peak = seen;
        }
    }

    internal void Release(long bytes) => Interlocked.Add(ref _live, -bytes);
}
