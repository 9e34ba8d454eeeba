using System.CommandLine;
using RepShift.Benchmarks;
using RepShift.Kernels;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift bench gemm</c>: the FMA peak and the GEMM at the model's shapes.</summary>
internal static class BenchGemmCommand
{
    public static Command Create()
    {
        var ms = new Option<string>("--m") { Description = "Row counts (tokens per batch), comma-separated", DefaultValueFactory = _ => "64,256,1024,4096" }.IntList(1, 1 << 20);
        var threads = new Option<int>("--threads") { Description = "Worker threads (default: all cores)", DefaultValueFactory = _ => Environment.ProcessorCount }.Range(1, CommonOptions.MaxThreads);
        var json = new Option<bool>("--json") { Description = "Print one JSON object on stdout" };
        var kernel = new Option<string>("--kernel")
        {
            Description = "Micro-kernel: auto (AVX-512 12×32 where the CPU has it, else AVX2 6×16), avx2, avx512. Run twice to compare",
            DefaultValueFactory = _ => "auto",
        };
        kernel.AcceptOnlyFromAmong("auto", "avx2", "avx512");
        var command = new Command("gemm", "Measure the machine's FMA peak (register-only loop on all threads) and the packed GEMM at K, N ∈ {384, 1152, 1536} → GFLOP/s and % of peak.");
        command.Options.Add(ms);
        command.Options.Add(threads);
        command.Options.Add(json);
        command.Options.Add(kernel);
        command.SetAction(r =>
        {
            string chosen = r.GetValue(kernel)!;
            if (chosen == "avx512" && !ComputeContext.Avx512Available) throw new RepShiftException("--kernel avx512: this CPU (or runtime) has no AVX-512F");
            using var compute = new ComputeContext(Math.Max(1, r.GetValue(threads)), chosen switch { "avx512" => GemmKernel.Avx512, "avx2" => GemmKernel.Avx2, _ => GemmKernel.Auto });
            string used = compute.Kernel == GemmKernel.Avx512 ? "avx512 (12×32)" : "avx2 (6×16)";
            var mList = Parse(r.GetValue(ms)!);
            (int, int)[] shapes = [(384, 1152), (384, 384), (384, 1536), (1536, 384)];
            var (peak, rows) = GemmBenchmark.Run(compute, mList, shapes, TimeSpan.FromSeconds(1), new Progress<string>(s => Console.Error.WriteLine(s)));
            if (r.GetValue(json))
                Cli.WriteJson(new { threads = compute.Threads, kernel = used, peak_gflops = peak, shapes = rows.Select(x => new { m = x.M, k = x.K, n = x.N, ms = x.Milliseconds, gflops = x.Gflops, percent_of_peak = x.PercentOfPeak }) });
            Console.Error.WriteLine($"FMA peak: {peak:F1} GFLOP/s on {compute.Threads} threads; GEMM kernel {used}");
            foreach (var x in rows) Console.Error.WriteLine($"  M={x.M,5} K={x.K,5} N={x.N,5}: {x.Milliseconds,8:F3} ms {x.Gflops,7:F1} GFLOP/s {x.PercentOfPeak,5:F1}% of peak");
            return 0;
        });
        return command;
    }

    internal static int[] Parse(string list)
    {
        try
        {
            return [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse)];
        }
        catch (FormatException)
        {
            throw new RepShiftException($"'{list}' is not a comma-separated list of whole numbers");
        }
    }
}
