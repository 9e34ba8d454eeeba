namespace RepShift.Kernels;

/// <summary>
/// Process-wide count of the scratch bytes attention kernels hold right now, and the most they held at
/// once since <see cref="ResetPeak"/>. Kernels report a buffer while a work item uses it, so the peak is
/// the extra memory a call needs beyond its inputs and outputs. Benchmarks read it; nothing else does.
/// </summary>
internal static class ScratchMeter
{
    private static long _live;
    private static long _peak;

    public static long Live => Interlocked.Read(ref _live);
    public static long Peak => Interlocked.Read(ref _peak);

    public static void Acquire(long bytes)
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

    public static void Release(long bytes) => Interlocked.Add(ref _live, -bytes);

    /// <summary>Starts a new measurement: the peak becomes what is live now.</summary>
    public static void ResetPeak() => Interlocked.Exchange(ref _peak, Interlocked.Read(ref _live));
}
