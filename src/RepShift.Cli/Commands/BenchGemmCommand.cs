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
        var precision = new Option<string>("--precision")
        {
            Description = "fp32: the fp32 GEMM against the FMA peak. int8: the int8 GEMM and the fp32 one timed alternately in the same run, "
                + "int8 against the int8 multiply-accumulate peak of its kernel (GOP/s, 2 ops per MAC), with the speed-up",
            DefaultValueFactory = _ => "fp32",
        };
        precision.AcceptOnlyFromAmong("fp32", "int8");
        var int8Kernel = new Option<string>("--int8-kernel")
        {
            Description = "int8 micro-kernel: auto (AVX-VNNI where .NET reports it, else AVX2), avxvnni (256-bit VPDPBUSD), avx2 (exact 16-bit widening + vpmaddwd)",
            DefaultValueFactory = _ => "auto",
        };
        int8Kernel.AcceptOnlyFromAmong("auto", "avxvnni", "avx2");
        var command = new Command("gemm", "Measure the machine's FMA peak (register-only loop on all threads) and the packed GEMM at K, N ∈ {384, 1152, 1536} → GFLOP/s and % of peak; "
            + "with --precision int8 also the int8 GEMM against the int8 peak.");
        command.Options.Add(ms);
        command.Options.Add(threads);
        command.Options.Add(json);
        command.Options.Add(kernel);
        command.Options.Add(precision);
        command.Options.Add(int8Kernel);
        command.SetAction(r =>
        {
            string chosen = r.GetValue(kernel)!;
            if (chosen == "avx512" && !ComputeContext.Avx512Available) throw new RepShiftException("--kernel avx512: this CPU (or runtime) has no AVX-512F");
            bool int8 = r.GetValue(precision) == "int8";
            string chosen8 = r.GetValue(int8Kernel)!;
            if (int8 && !Int8Gemm.Supported) throw new RepShiftException("--precision int8: this CPU (or runtime) has no AVX2, which every int8 kernel needs");
            if (chosen8 == "avxvnni" && !System.Runtime.Intrinsics.X86.AvxVnni.IsSupported) throw new RepShiftException("--int8-kernel avxvnni: this CPU (or runtime) has no AVX-VNNI");
            using var compute = new ComputeContext(Math.Max(1, r.GetValue(threads)), chosen switch { "avx512" => GemmKernel.Avx512, "avx2" => GemmKernel.Avx2, _ => GemmKernel.Auto },
                int8Kernel: chosen8 switch { "avxvnni" => Int8Kernel.AvxVnni, "avx2" => Int8Kernel.Avx2, _ => Int8Kernel.Auto });
            string used = compute.Kernel == GemmKernel.Avx512 ? "avx512 (12×32)" : "avx2 (6×16)";
            var mList = Parse(r.GetValue(ms)!);
            (int, int)[] shapes = [(384, 1152), (384, 384), (384, 1536), (1536, 384)];
            if (int8) return RunInt8(compute, mList, shapes, used, r.GetValue(json));
            var (peak, rows) = GemmBenchmark.Run(compute, mList, shapes, TimeSpan.FromSeconds(1), new Progress<string>(s => Console.Error.WriteLine(s)));
            if (r.GetValue(json))
                Cli.WriteJson(new { threads = compute.Threads, kernel = used, peak_gflops = peak, shapes = rows.Select(x => new { m = x.M, k = x.K, n = x.N, ms = x.Milliseconds, gflops = x.Gflops, percent_of_peak = x.PercentOfPeak }) });
            Console.Error.WriteLine($"FMA peak: {peak:F1} GFLOP/s on {compute.Threads} threads; GEMM kernel {used}");
            foreach (var x in rows) Console.Error.WriteLine($"  M={x.M,5} K={x.K,5} N={x.N,5}: {x.Milliseconds,8:F3} ms {x.Gflops,7:F1} GFLOP/s {x.PercentOfPeak,5:F1}% of peak");
            return 0;
        });
        return command;
    }

    private static int RunInt8(ComputeContext compute, int[] mList, (int, int)[] shapes, string used, bool json)
    {
        string used8 = compute.Int8Kernel == Int8Kernel.AvxVnni ? "avxvnni (VPDPBUSD 6×16)" : "avx2 (vpmaddwd 6×16)";
        var (fmaPeak, int8Peak, rows) = GemmBenchmark.RunInt8(compute, mList, shapes, TimeSpan.FromSeconds(1), new Progress<string>(s => Console.Error.WriteLine(s)));
        if (json)
            Cli.WriteJson(new
            {
                threads = compute.Threads,
                kernel = used,
                int8_kernel = used8,
                avx_vnni = System.Runtime.Intrinsics.X86.AvxVnni.IsSupported,
                peak_gflops = fmaPeak,
                int8_peak_gops = int8Peak,
                shapes = rows.Select(x => new
                {
                    m = x.M,
                    k = x.K,
                    n = x.N,
                    fp32_ms = x.Fp32Milliseconds,
                    int8_ms = x.Int8Milliseconds,
                    fp32_gflops = x.Fp32Gflops,
                    int8_gops = x.Int8Gops,
                    fp32_percent_of_peak = x.Fp32PercentOfPeak,
                    int8_percent_of_peak = x.Int8PercentOfPeak,
                    speedup = x.Speedup,
                }),
            });
        Console.Error.WriteLine($"FMA peak: {fmaPeak:F1} GFLOP/s, int8 peak: {int8Peak:F1} GOP/s on {compute.Threads} threads; fp32 kernel {used}, int8 kernel {used8}");
        foreach (var x in rows)
            Console.Error.WriteLine($"  M={x.M,5} K={x.K,5} N={x.N,5}: fp32 {x.Fp32Milliseconds,8:F3} ms {x.Fp32PercentOfPeak,5:F1}% | int8 {x.Int8Milliseconds,8:F3} ms {x.Int8Gops,7:F1} GOP/s {x.Int8PercentOfPeak,5:F1}% | {x.Speedup:F2}×");
        return 0;
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
