using System.Diagnostics;
using RepShift.Kernels;

namespace RepShift.Benchmarks;

/// <summary>One GEMM shape's measured speed.</summary>
public sealed record GemmBenchmarkRow(int M, int K, int N, double Milliseconds, double Gflops, double PercentOfPeak);

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

    private static float[] Fill(Random rng, int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)rng.NextDouble() - 0.5f;
        return a;
    }
}
