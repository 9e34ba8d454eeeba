using System.Diagnostics;
using RepShift.Kernels;

namespace RepShift.Benchmarks;

/// <summary>One GEMM shape's measured speed.</summary>
public sealed record GemmBenchmarkRow(int M, int K, int N, double Milliseconds, double Gflops, double PercentOfPeak);

/// <summary>
/// One shape's fp32 and int8 GEMM, timed alternately in the same run (medians); int8 throughput in GOP/s
/// (2 ops per multiply-accumulate) against the int8 peak of the kernel in use.
/// </summary>
public sealed record Int8GemmBenchmarkRow(int M, int K, int N, double Fp32Milliseconds, double Int8Milliseconds, double Fp32Gflops, double Int8Gops,
    double Fp32PercentOfPeak, double Int8PercentOfPeak)
{
    public double Speedup => Fp32Milliseconds / Int8Milliseconds;
}

/// <summary>The packed GEMM at the shapes an encoder layer uses (M = tokens in a batch; K, N ∈ {384, 1152, 1536}), against the FMA peak.</summary>
public static class GemmBenchmark
{
    public static (double PeakGflops, IReadOnlyList<GemmBenchmarkRow> Rows) Run(ComputeContext compute, IReadOnlyList<int> ms, IReadOnlyList<(int K, int N)> shapes, TimeSpan perShape, IProgress<string>? progress = null)
    {
        progress?.Report("measuring FMA peak");
        double peak = FmaPeak.Measure(compute.Threads, TimeSpan.FromSeconds(1));
        var rows = new List<GemmBenchmarkRow>();
        var rng = new Random(1);
        foreach (var (k, n) in shapes)
        {
            var b = PackedMatrix.Pack(Fill(rng, k * n), k, n);
            var bias = Fill(rng, n);
            foreach (int m in ms)
            {
                progress?.Report($"M={m} K={k} N={n}");
                var a = Fill(rng, m * k);
                var c = new float[m * n];
                Gemm.Multiply(compute, a, m, b, bias, c); // warm-up
                var samples = new List<double>();
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed < perShape || samples.Count < 3)
                {
                    long start = Stopwatch.GetTimestamp();
                    Gemm.Multiply(compute, a, m, b, bias, c);
                    samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
                samples.Sort();
                double ms0 = samples[samples.Count / 2];
                double gflops = 2.0 * m * k * n / (ms0 / 1e3) / 1e9;
                rows.Add(new GemmBenchmarkRow(m, k, n, ms0, gflops, 100 * gflops / peak));
            }
        }
        return (peak, rows);
    }

    /// <summary>fp32 and int8 GEMMs at each shape, alternating one call of each so both see the same machine state.</summary>
    public static (double FmaPeakGflops, double Int8PeakGops, IReadOnlyList<Int8GemmBenchmarkRow> Rows) RunInt8(ComputeContext compute, IReadOnlyList<int> ms,
        IReadOnlyList<(int K, int N)> shapes, TimeSpan perShape, IProgress<string>? progress = null)
    {
        progress?.Report("measuring FMA peak");
        double fmaPeak = FmaPeak.Measure(compute.Threads, TimeSpan.FromSeconds(1));
        progress?.Report($"measuring int8 peak ({compute.Int8Kernel})");
        double int8Peak = Int8Peak.Measure(compute.Int8Kernel, compute.Threads, TimeSpan.FromSeconds(1));
        var rows = new List<Int8GemmBenchmarkRow>();
        var rng = new Random(1);
        foreach (var (k, n) in shapes)
        {
            var weights = Fill(rng, k * n);
            var b = PackedMatrix.Pack(weights, k, n);
            var bq = PackedInt8Matrix.Quantize(weights, k, n);
            var bias = Fill(rng, n);
            foreach (int m in ms)
            {
                progress?.Report($"M={m} K={k} N={n}");
                var a = Fill(rng, m * k);
                var c = new float[m * n];
                Gemm.Multiply(compute, a, m, b, bias, c); // warm-up
                Int8Gemm.Multiply(compute, a, m, bq, bias, c);
                var fp32 = new List<double>();
                var int8 = new List<double>();
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed < 2 * perShape || fp32.Count < 3)
                {
                    long start = Stopwatch.GetTimestamp();
                    Gemm.Multiply(compute, a, m, b, bias, c);
                    fp32.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    start = Stopwatch.GetTimestamp();
                    Int8Gemm.Multiply(compute, a, m, bq, bias, c);
                    int8.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
                fp32.Sort();
                int8.Sort();
                double f = fp32[fp32.Count / 2], q = int8[int8.Count / 2];
                double ops = 2.0 * m * k * n;
                double gflops = ops / (f / 1e3) / 1e9, gops = ops / (q / 1e3) / 1e9;
                rows.Add(new Int8GemmBenchmarkRow(m, k, n, f, q, gflops, gops, 100 * gflops / fmaPeak, 100 * gops / int8Peak));
            }
        }
        return (fmaPeak, int8Peak, rows);
    }

    private static float[] Fill(Random rng, int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)rng.NextDouble() - 0.5f;
        return a;
    }
}
