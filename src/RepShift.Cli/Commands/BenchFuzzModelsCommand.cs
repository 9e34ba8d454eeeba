using System.CommandLine;
using System.Diagnostics;
using RepShift.Cli.Benchmarks;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift bench fuzz-models</c>: byte-level mutations of a tiny model's files, each loaded; only the engine's own load errors may come out.</summary>
internal static class BenchFuzzModelsCommand
{
    public static Command Create()
    {
        var cases = new Option<int>("--cases") { Description = "Mutated files to load", DefaultValueFactory = _ => 10_000 }.Range(1, 100_000_000);
        var seed = new Option<int>("--seed") { Description = "Seed of the case sequence (the same seed gives the same cases)", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object on stdout" };
        var command = new Command("fuzz-models", """
            Fuzz the model loaders: a tiny BERT written as a Hugging Face folder (config.json, model.safetensors,
            vocab.txt) and as an ONNX file, one file mutated per case (bit flips, edge-value bytes, truncation,
            splices, length fields, numbers in JSON and in the safetensors header, ONNX graph edits), then loaded
            and, when it loads, run on two texts. A case passes when it loads or is refused with the engine's own
            load error; it fails on any other exception or when loading allocates more than 4 bytes per byte of
            the model's files plus 1 MiB. Exit 1 when a case failed (each is listed with its seed).
            Example: repshift bench fuzz-models --cases 100000 --seed 1 --json
            """);
        foreach (var o in new Option[] { cases, seed, json }) command.Options.Add(o);
        command.SetAction(r =>
        {
            int n = r.GetValue(cases);
            string folder = Path.Combine(Path.GetTempPath(), "repshift-fuzz-models-" + Guid.NewGuid().ToString("N"));
            var counts = new Dictionary<(FuzzTarget, FuzzOutcome), int>();
            var failures = new List<(FuzzCase Case, string Detail)>();
            double slowestMs = 0;
            FuzzResult? most = null;
            FuzzCase slowest = default;
            var clock = Stopwatch.StartNew();
            try
            {
                var fuzzer = new ModelFileFuzzer(new TinyModelFiles(), folder);
                var rng = new Random(r.GetValue(seed));
                Cli.WithProgress("fuzzing", n, progress =>
                {
                    for (int i = 0; i < n; i++)
                    {
                        var c = new FuzzCase((FuzzTarget)rng.Next(4), (FuzzMutation)rng.Next(6), rng.Next());
                        var result = fuzzer.Run(c);
                        counts[(c.Target, result.Outcome)] = counts.GetValueOrDefault((c.Target, result.Outcome)) + 1;
                        if (result.Outcome == FuzzOutcome.Failed) failures.Add((c, result.Detail));
                        if (most == null || result.Allocated > most.Allocated) most = result;
                        if (result.Elapsed.TotalMilliseconds > slowestMs) (slowestMs, slowest) = (result.Elapsed.TotalMilliseconds, c);
                        if (i % 256 == 0) progress.Report(i);
                    }
                    return 0;
                });
            }
            finally { Directory.Delete(folder, recursive: true); }
            double seconds = clock.Elapsed.TotalSeconds;
            int Count(FuzzTarget? t, FuzzOutcome o) => counts.Where(kv => (t == null || kv.Key.Item1 == t) && kv.Key.Item2 == o).Sum(kv => kv.Value);
            Console.Error.WriteLine($"{n} cases in {seconds:F1} s ({n / seconds:F0}/s): {Count(null, FuzzOutcome.Loaded)} loaded, {Count(null, FuzzOutcome.Refused)} refused with a load error, {failures.Count} failed");
            foreach (var t in Enum.GetValues<FuzzTarget>())
                Console.Error.WriteLine($"  {t,-8} loaded {Count(t, FuzzOutcome.Loaded),7} refused {Count(t, FuzzOutcome.Refused),7} failed {Count(t, FuzzOutcome.Failed),5}");
            Console.Error.WriteLine($"  most allocated by one load: {most?.Allocated:N0} bytes for {most?.InputBytes:N0} bytes of model files (limit {ModelFileFuzzer.AllocationLimit(most?.InputBytes ?? 0):N0}); slowest case {slowestMs:F1} ms ({slowest})");
            foreach (var (c, detail) in failures.Take(20)) Console.Error.WriteLine($"  FAILED {c}: {detail}");
            if (r.GetValue(json))
                Cli.WriteJson(new
                {
                    cases = n,
                    seed = r.GetValue(seed),
                    seconds,
                    loaded = Count(null, FuzzOutcome.Loaded),
                    refused = Count(null, FuzzOutcome.Refused),
                    failed = failures.Count,
                    targets = Enum.GetValues<FuzzTarget>().Select(t => new { target = t.ToString().ToLowerInvariant(), loaded = Count(t, FuzzOutcome.Loaded), refused = Count(t, FuzzOutcome.Refused), failed = Count(t, FuzzOutcome.Failed) }),
                    max_allocated_bytes = most?.Allocated,
                    max_allocated_input_bytes = most?.InputBytes,
                    slowest_case_ms = slowestMs,
                    failures = failures.Take(100).Select(f => new { target = f.Case.Target.ToString(), mutation = f.Case.Mutation.ToString(), seed = f.Case.Seed, detail = f.Detail }),
                });
            return failures.Count == 0 ? Cli.ExitOk : Cli.ExitCheckFailed;
        });
        return command;
    }
}
