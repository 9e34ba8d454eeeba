using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using RepShift.Kernels;

namespace RepShift.Benchmarks;

/// <summary>
/// The machine's int8 multiply-accumulate peak for an int8 kernel, measured like <see cref="FmaPeak"/>: a
/// register-only loop of ten independent accumulator chains on every thread. AvxVnni: 256-bit VPDPBUSD
/// (32 u8×s8 MACs per instruction); Avx2: 256-bit vpmaddwd + vpaddd (16 s16×s16 MACs), the instruction
/// pair the widening kernel issues. Reported in GOP/s with 2 ops per MAC, comparable to GFLOP/s.
/// </summary>
public static class Int8Peak
{
    public static double Measure(Int8Kernel kernel, int threads, TimeSpan duration) => kernel switch
    {
        Int8Kernel.AvxVnni => Measure(threads, duration, RunVnni, 32),
        Int8Kernel.Avx2 => Measure(threads, duration, RunAvx2, 16),
        _ => throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "name a resolved kernel"),
    };

    private static double Measure(int threads, TimeSpan duration, Func<long, int> loop, int macsPerInstruction)
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
            best = Math.Max(best, threads * iterations * 10.0 * macsPerInstruction * 2 / seconds / 1e9);
        }
        return best;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int RunVnni(long iterations)
    {
        var x = Vector256.Create((byte)3);
        var y = Vector256.Create((sbyte)-1);
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default, a8 = default, a9 = default;
        for (long i = 0; i < iterations; i++)
        {
            a0 = AvxVnni.MultiplyWideningAndAdd(a0, x, y); a1 = AvxVnni.MultiplyWideningAndAdd(a1, x, y);
            a2 = AvxVnni.MultiplyWideningAndAdd(a2, x, y); a3 = AvxVnni.MultiplyWideningAndAdd(a3, x, y);
            a4 = AvxVnni.MultiplyWideningAndAdd(a4, x, y); a5 = AvxVnni.MultiplyWideningAndAdd(a5, x, y);
            a6 = AvxVnni.MultiplyWideningAndAdd(a6, x, y); a7 = AvxVnni.MultiplyWideningAndAdd(a7, x, y);
            a8 = AvxVnni.MultiplyWideningAndAdd(a8, x, y); a9 = AvxVnni.MultiplyWideningAndAdd(a9, x, y);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int RunAvx2(long iterations)
    {
        var x = Vector256.Create((short)3);
        var y = Vector256.Create((short)-1);
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default, a8 = default, a9 = default;
        for (long i = 0; i < iterations; i++)
        {
            a0 += Avx2.MultiplyAddAdjacent(x, y); a1 += Avx2.MultiplyAddAdjacent(x, y);
            a2 += Avx2.MultiplyAddAdjacent(x, y); a3 += Avx2.MultiplyAddAdjacent(x, y);
            a4 += Avx2.MultiplyAddAdjacent(x, y); a5 += Avx2.MultiplyAddAdjacent(x, y);
            a6 += Avx2.MultiplyAddAdjacent(x, y); a7 += Avx2.MultiplyAddAdjacent(x, y);
            a8 += Avx2.MultiplyAddAdjacent(x, y); a9 += Avx2.MultiplyAddAdjacent(x, y);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9);
    }
}
