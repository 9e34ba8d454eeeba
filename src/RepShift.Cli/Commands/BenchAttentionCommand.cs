using System.CommandLine;
using RepShift.Benchmarks;
using RepShift.Kernels;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift bench attention</c>: flash against naive attention, time and extra memory per length.</summary>
internal static class BenchAttentionCommand
{
    public static Command Create()
    {
        var lengths = new Option<string>("--lengths") { Description = "Sequence lengths, comma-separated", DefaultValueFactory = _ => "128,512,2048,8192" }.IntList(1, 65536);
        var heads = new Option<int>("--heads") { Description = "Attention heads", DefaultValueFactory = _ => 12 }.Range(1, 4096);
        var headDim = new Option<int>("--head-dim") { Description = "Size of each head", DefaultValueFactory = _ => 64 }.Range(1, 256);
        var reps = new Option<int>("--repetitions") { Description = "Timed repetitions per kernel and length (fewer at large N)", DefaultValueFactory = _ => 7 }.Range(1, 1_000_000);
        var threads = new Option<int>("--threads") { Description = "Worker threads (default: all cores)", DefaultValueFactory = _ => Environment.ProcessorCount }.Range(1, CommonOptions.MaxThreads);
        var json = new Option<bool>("--json") { Description = "Print one JSON object on stdout" };
        var command = new Command("attention", """
            Time flash attention (tiled, online softmax, never builds the N×N map) against naive attention (builds
            it) on one sequence of each length, alternating the two kernels in one run; reports the median time,
            the speedup and each kernel's peak extra memory (scratch held at once beyond inputs and outputs).
            Example: repshift bench attention --lengths 128,512,2048,8192 --json
            """);
        foreach (var o in new Option[] { lengths, heads, headDim, reps, threads, json }) command.Options.Add(o);
        command.SetAction(r =>
        {
            var settings = new AttentionBenchmarkSettings
            {
                Lengths = BenchGemmCommand.Parse(r.GetValue(lengths)!),
                Heads = r.GetValue(heads),
                HeadDim = r.GetValue(headDim),
                Repetitions = r.GetValue(reps),
                Threads = Math.Max(1, r.GetValue(threads)),
            };
            var rows = AttentionBenchmark.Run(settings, new Progress<string>(Console.Error.WriteLine));
            Console.Error.WriteLine($"{"N",6} {"flash ms",10} {"naive ms",10} {"speedup",8} {"flash extra",14} {"naive extra",14} {"ratio",8}");
            foreach (var x in rows)
                Console.Error.WriteLine($"{x.Length,6} {x.FlashMs,10:F2} {x.NaiveMs,10:F2} {x.Speedup,7:F1}× {x.FlashExtraBytes,14:N0} {x.NaiveExtraBytes,14:N0} {100 * x.ExtraMemoryRatio,7:F2}%");
            if (r.GetValue(json))
                Cli.WriteJson(new
                {
                    heads = settings.Heads,
                    head_dim = settings.HeadDim,
                    threads = settings.Threads,
                    lengths = rows.Select(x => new
                    {
                        n = x.Length,
                        flash_ms = x.FlashMs,
                        naive_ms = x.NaiveMs,
                        speedup = x.Speedup,
                        flash_extra_bytes = x.FlashExtraBytes,
                        naive_extra_bytes = x.NaiveExtraBytes,
                        extra_memory_ratio = x.ExtraMemoryRatio,
                        max_abs_difference = x.MaxAbsDifference,
                    }),
                });
            return 0;
        });
        return command;
    }
}
