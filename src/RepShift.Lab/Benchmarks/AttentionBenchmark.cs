using System.Diagnostics;
using RepShift.Kernels;

namespace RepShift.Benchmarks;

/// <summary>What <see cref="AttentionBenchmark.Run"/> measures.</summary>
public sealed record AttentionBenchmarkSettings
{
    /// <summary>Sequence lengths N; each is benchmarked as one sequence of N tokens.</summary>
    public IReadOnlyList<int> Lengths { get; init; } = [128, 512, 2048, 8192];

    public int Heads { get; init; } = 12;
    public int HeadDim { get; init; } = 64;

    /// <summary>Worker threads for both kernels; null means one per logical core.</summary>
    public int? Threads { get; init; }

    /// <summary>Timed runs per kernel up to N = 1024; above, scaled down with N² (the naive kernel's cost) to no fewer than <see cref="MinRepetitions"/> (or <see cref="Repetitions"/>, if fewer).</summary>
    public int Repetitions { get; init; } = 7;

    public int MinRepetitions { get; init; } = 3;

    /// <summary>Seed of the random Q, K, V.</summary>
    public int Seed { get; init; } = 1;

    internal void Validate()
    {
        if (Lengths.Count == 0) throw new ArgumentException("give at least one sequence length");
        foreach (int n in Lengths)
            if (n < 1 || n > 65536) throw new ArgumentException($"sequence length {n} is out of range: use 1 to 65536");
        if (Heads < 1 || HeadDim < 1 || HeadDim > 256) throw new ArgumentException($"heads ({Heads}) must be at least 1 and head dim ({HeadDim}) 1 to 256");
        if ((long)Heads * HeadDim * 3 > 1 << 20) throw new ArgumentException($"heads × head dim = {(long)Heads * HeadDim} is too wide");
        if (Threads is < 1) throw new ArgumentException($"threads {Threads} is out of range: use 1 or more");
        if (Repetitions < 1 || MinRepetitions < 1) throw new ArgumentException($"Repetitions ({Repetitions}) and MinRepetitions ({MinRepetitions}) must be at least 1");
    }

    internal int RepetitionsFor(int length)
    {
        double scaled = Repetitions * Math.Min(1.0, 1024.0 * 1024.0 / ((double)length * length));
        return Math.Max(Math.Min(MinRepetitions, Repetitions), (int)Math.Ceiling(scaled));
    }
}

/// <summary>
/// One sequence length's result. Times are medians over the repetitions. <b>Extra memory</b> is the
/// peak number of bytes of kernel scratch alive at the same moment during a call, the largest over the
/// repetitions (both kernels report their buffers to a meter while a work item holds them): the naive kernel's N×N probability map
/// per concurrently running (sequence, head) job, flash attention's per-worker tile buffers plus, when
/// per-key outputs are requested, its T·heads log-sum-exp array. Inputs and outputs are not counted,
/// and neither are flash attention's pooled tile buffers between calls (at most 2 per core, ~100 KB each
/// at head dim 64). <see cref="FlashAllocatedBytes"/> and <see cref="NaiveAllocatedBytes"/> are the
/// managed bytes allocated by one call (median), which for the naive kernel is every head's map, not only
/// those alive at once.
/// </summary>
public sealed record AttentionBenchmarkRow(
    int Length,
    int Heads,
    int HeadDim,
    int Threads,
    int Repetitions,
    double FlashMs,
    double NaiveMs,
    long FlashExtraBytes,
    long NaiveExtraBytes,
    long FlashAllocatedBytes,
    long NaiveAllocatedBytes,
    double MaxAbsDifference)
{
    /// <summary>Naive time over flash time.</summary>
    public double Speedup => NaiveMs / FlashMs;

    /// <summary>Flash attention's extra memory as a fraction of the naive kernel's.</summary>
    public double ExtraMemoryRatio => NaiveExtraBytes == 0 ? 0 : (double)FlashExtraBytes / NaiveExtraBytes;
}

/// <summary>
/// Flash against naive attention on random inputs laid out like the encoder's (one sequence of N
/// tokens, fused QKV rows of stride 3·heads·d). Both kernels run in the same process and alternate
/// repetition by repetition (the order flips every time), with a full GC before each timed call so
/// one kernel's garbage is not collected on the other's clock.
/// </summary>
public static class AttentionBenchmark
{
    public static IReadOnlyList<AttentionBenchmarkRow> Run(AttentionBenchmarkSettings settings, IProgress<string>? progress = null)
    {
        settings.Validate();
        // A context of its own: its scratch meter then counts exactly these kernels, on all of its threads.
        using var compute = new ComputeContext(settings.Threads ?? 0);
        // Let tiered compilation promote the kernels before anything is timed: it waits for 30 calls and
        // for a pause in new compilations, so warm up for a minimum count and a minimum time.
        var warm = new Input(compute, 128, settings.Heads, settings.HeadDim, settings.Seed);
        long warmStart = Stopwatch.GetTimestamp();
        for (int i = 0; i < 40 || Stopwatch.GetElapsedTime(warmStart).TotalMilliseconds < 1000; i++)
        {
            warm.RunFlash();
            warm.RunNaive();
        }
        var rows = new List<AttentionBenchmarkRow>();
        foreach (int n in settings.Lengths)
        {
            var input = new Input(compute, n, settings.Heads, settings.HeadDim, settings.Seed);
            int reps = settings.RepetitionsFor(n);
            var flash = new Sample[reps];
            var naive = new Sample[reps];
            for (int r = 0; r < reps; r++)
            {
                bool flashFirst = r % 2 == 0;
                if (flashFirst) flash[r] = Measure(compute, input.RunFlash);
                naive[r] = Measure(compute, input.RunNaive);
                if (!flashFirst) flash[r] = Measure(compute, input.RunFlash);
                progress?.Report($"N={n} rep {r + 1}/{reps}: flash {flash[r].Ms:F2} ms, naive {naive[r].Ms:F2} ms");
            }
            var row = new AttentionBenchmarkRow(n, settings.Heads, settings.HeadDim, compute.Threads, reps,
                Median(flash, s => s.Ms), Median(naive, s => s.Ms),
                flash.Max(s => s.PeakScratch), naive.Max(s => s.PeakScratch),
                (long)Median(flash, s => s.Allocated), (long)Median(naive, s => s.Allocated),
                input.MaxAbsDifference());
            progress?.Report($"N={n}: flash {row.FlashMs:F2} ms, naive {row.NaiveMs:F2} ms, speedup {row.Speedup:F2}×, extra memory {row.FlashExtraBytes:N0} vs {row.NaiveExtraBytes:N0} bytes");
            rows.Add(row);
        }
        return rows;
    }

    private readonly record struct Sample(double Ms, long PeakScratch, long Allocated);

    private static Sample Measure(ComputeContext compute, Action kernel)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        compute.Scratch.ResetPeak();
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        long start = Stopwatch.GetTimestamp();
        kernel();
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        return new Sample(ms, compute.Scratch.Peak, allocated);
    }

    private static double Median(Sample[] samples, Func<Sample, double> value)
    {
        var v = samples.Select(value).Order().ToArray();
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    /// <summary>Random fused QKV for one sequence, an output per kernel, and the options both use.</summary>
    private sealed class Input
    {
        private readonly float[] _qkv;
        private readonly float[] _flashOut, _naiveOut;
        private readonly int[] _seqStarts;
        private readonly AttentionOptions _options;
        private readonly int _width;
        private readonly ComputeContext _compute;

        public Input(ComputeContext compute, int n, int heads, int headDim, int seed)
        {
            _compute = compute;
            _width = heads * headDim;
            var rng = new Random(seed);
            _qkv = new float[n * 3 * _width];
            for (int i = 0; i < _qkv.Length; i++) _qkv[i] = rng.NextSingle() * 2 - 1;
            _flashOut = new float[n * _width];
            _naiveOut = new float[n * _width];
            _seqStarts = [0, n];
            _options = new AttentionOptions { Heads = heads, HeadDim = headDim, InputStride = 3 * _width, OutputStride = _width };
        }

        public void RunFlash() => FlashAttention.Run(_compute, _qkv, _qkv.AsSpan(_width), _qkv.AsSpan(2 * _width), _flashOut, _seqStarts, _options);

        public void RunNaive() => NaiveAttention.Run(_compute, _qkv, _qkv.AsSpan(_width), _qkv.AsSpan(2 * _width), _naiveOut, _seqStarts, _options);

        public double MaxAbsDifference()
        {
            double max = 0;
            for (int i = 0; i < _flashOut.Length; i++) max = Math.Max(max, Math.Abs(_flashOut[i] - _naiveOut[i]));
            return max;
        }
    }
}
