using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using RepShift.Kernels;

namespace RepShift.Benchmarks;

/// <summary>
/// The machine's fp32 FMA peak: a register-only loop of independent FMA chains (enough to cover FMA
/// latency × throughput) on every worker thread at once, with Vector256 and, where the CPU has AVX-512,
/// Vector512 (the higher wins: some CPUs run 512-bit FMAs at twice the 256-bit rate, others — AMD Zen 4 —
/// split them in two). No memory traffic, so it is the ceiling a GEMM can approach, measured rather than
/// taken from a data sheet.
/// </summary>
public static class FmaPeak
{
    /// <summary>GFLOP/s over <paramref name="threads"/> threads (2 FLOP per FMA lane).</summary>
    public static double Measure(int threads, TimeSpan duration)
    {
        double best = Measure(threads, duration, RunOne, Vector256<float>.Count);
        if (ComputeContext.Avx512Available) best = Math.Max(best, Measure(threads, duration, RunOne512, Vector512<float>.Count));
        return best;
    }

    private static double Measure(int threads, TimeSpan duration, Func<long, float> loop, int lanes)
    {
        const long iterations = 20_000_000;
        loop(1000); // JIT warm-up
        double best = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            long start = Stopwatch.GetTimestamp();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => loop(iterations));
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            best = Math.Max(best, threads * iterations * 10.0 * lanes * 2 / seconds / 1e9);
        }
        return best;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float RunOne512(long iterations)
    {
        var m = Vector512.Create(0.999999f);
        var c = Vector512.Create(1e-7f);
        Vector512<float> a0 = m, a1 = m, a2 = m, a3 = m, a4 = m, a5 = m, a6 = m, a7 = m, a8 = m, a9 = m;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, c); a1 = Vector512.FusedMultiplyAdd(a1, m, c);
            a2 = Vector512.FusedMultiplyAdd(a2, m, c); a3 = Vector512.FusedMultiplyAdd(a3, m, c);
            a4 = Vector512.FusedMultiplyAdd(a4, m, c); a5 = Vector512.FusedMultiplyAdd(a5, m, c);
            a6 = Vector512.FusedMultiplyAdd(a6, m, c); a7 = Vector512.FusedMultiplyAdd(a7, m, c);
            a8 = Vector512.FusedMultiplyAdd(a8, m, c); a9 = Vector512.FusedMultiplyAdd(a9, m, c);
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float RunOne(long iterations)
    {
        var m = Vector256.Create(0.999999f);
        var c = Vector256.Create(1e-7f);
        Vector256<float> a0 = m, a1 = m, a2 = m, a3 = m, a4 = m, a5 = m, a6 = m, a7 = m, a8 = m, a9 = m;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, c); a1 = Vector256.FusedMultiplyAdd(a1, m, c);
            a2 = Vector256.FusedMultiplyAdd(a2, m, c); a3 = Vector256.FusedMultiplyAdd(a3, m, c);
            a4 = Vector256.FusedMultiplyAdd(a4, m, c); a5 = Vector256.FusedMultiplyAdd(a5, m, c);
            a6 = Vector256.FusedMultiplyAdd(a6, m, c); a7 = Vector256.FusedMultiplyAdd(a7, m, c);
            a8 = Vector256.FusedMultiplyAdd(a8, m, c); a9 = Vector256.FusedMultiplyAdd(a9, m, c);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9);
    }
}
