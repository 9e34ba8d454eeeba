using System.CommandLine;
using RepShift.Cli.Benchmarks;
using RepShift.Compression;
using RepShift.Evaluation;
using RepShift.Kernels;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift bench serve</c>: the HTTP server on loopback under concurrent clients, micro-batching on and off.</summary>
internal static class BenchServeCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var server = new ServeCommand.ServerOptions();
        var data = new Option<string>("--data") { Description = "SICK file whose sentences the clients send", DefaultValueFactory = _ => "../shared/data/sick/SICK.txt" };
        var clients = new Option<int>("--clients") { Description = "Concurrent clients, each with one request in flight", DefaultValueFactory = _ => 16 };
        var seconds = new Option<double>("--seconds") { Description = "Measured seconds per configuration (over all rounds)", DefaultValueFactory = _ => 20 };
        var warmup = new Option<double>("--warmup") { Description = "Unmeasured seconds before each measured window", DefaultValueFactory = _ => 5 };
        var presets = new Option<string>("--presets") { Description = "Server presets to measure, comma-separated", DefaultValueFactory = _ => "none,balanced" };
        var roundCount = new Option<int>("--rounds") { Description = "Split each configuration's seconds into this many windows, configurations alternating", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object on stdout" };
        var soak = new Option<bool>("--soak")
        {
            Description = "Soak test instead: one configuration (the first of --presets, micro-batching on) for --seconds, resident memory sampled "
                + "every 5 s; fails (exit 1) on any error or on memory growth over 5 % from minute 2 (or a fifth of the run, if shorter) to the end",
        };
        var command = new Command("serve", """
            Load-test 'repshift serve' in-process on loopback: Kestrel on a free port, N concurrent HttpClient clients
            each sending one SICK sentence per request (closed loop), for every preset with micro-batching on and
            off (--no-batching's one batch per request). Reports requests/s, texts/s, p50/p95/p99 latency and the
            mean number of texts per encoder batch. The clients run in the same process, on the same cores.
            Example: repshift bench serve --data ../shared/data/sick/SICK.txt --clients 16 --seconds 20
                     repshift bench serve --clients 32 --seconds 600 --soak --json
            """);
        foreach (var o in new Option[] { data, clients, seconds, warmup, presets, roundCount, json, soak }) command.Options.Add(o);
        server.AddTo(command, batchingSwitch: false);
        common.AddTo(command, compression: false);
        command.SetAction(r =>
        {
            string path = r.GetValue(data)!;
            if (!File.Exists(path)) throw new RepShiftException($"data file '{path}' not found: give --data (SICK.txt)");
            var sentences = new StsEvaluation(StsReader.ReadSick(path)).Sentences;
            int n = r.GetValue(clients);
            if (n < 1) throw new RepShiftException($"--clients {n} is out of range: use 1 or more");
            double secs = r.GetValue(seconds), warm = r.GetValue(warmup);
            if (secs <= 0 || warm < 0) throw new RepShiftException("--seconds must be positive and --warmup not negative");
            var presetNames = r.GetValue(presets)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var p in presetNames) Presets.Get(p);
            using var dense = common.CreateEmbedder(r);
            Console.Error.WriteLine($"{sentences.Count} SICK sentences, {n} clients, {warm:F0} s warm-up + {secs:F0} s per configuration, "
                + $"{dense.Compute.Threads} threads, {Environment.ProcessorCount} cores, max batch {server.Get(r, common).MaxBatchTexts}, max delay {r.GetValue(server.MaxDelay)} ms");
            if (r.GetValue(soak)) return Soak(dense.WithCompression(Presets.Get(presetNames[0])), server.Get(r, common) with { Batching = true }, presetNames[0],
                sentences, n, warm, secs, r.GetValue(json));
            int rounds = r.GetValue(roundCount);
            if (rounds < 1) throw new RepShiftException($"--rounds {rounds} is out of range: use 1 or more");
            var configurations = presetNames.SelectMany(p => new[] { (Preset: p, Batching: true), (Preset: p, Batching: false) }).ToArray();
            var windows = configurations.ToDictionary(c => c, _ => new List<ServeLoadResult>());
            // Machines are shared: configurations take turns, the order rotating each round, so load drifts hit all alike.
            for (int round = 0; round < rounds; round++)
            {
                for (int k = 0; k < configurations.Length; k++)
                {
                    var (preset, batching) = configurations[(k + round) % configurations.Length];
                    var options = server.Get(r, common) with { Batching = batching };
                    Console.Error.WriteLine($"  round {round + 1}/{rounds}: {preset}, {(batching ? "micro-batching" : "one batch per request")}...");
                    var embedder = dense.WithCompression(Presets.Get(preset));
                    windows[(preset, batching)].Add(ServeLoad.RunAsync(embedder, options, preset, sentences, n, TimeSpan.FromSeconds(warm), TimeSpan.FromSeconds(secs / rounds))
                        .GetAwaiter().GetResult());
                }
            }
            var results = configurations.Select(c => ServeLoadResult.Merge(windows[c])).ToList();
            Console.Error.WriteLine($"{"preset",-10} {"batching",-9} {"requests",9} {"req/s",8} {"texts/s",8} {"p50 ms",8} {"p95 ms",8} {"p99 ms",8} {"batch",6} {"errors",6}");
            foreach (var x in results)
                Console.Error.WriteLine($"{x.Preset,-10} {(x.Batching ? "on" : "off"),-9} {x.Requests,9} {x.RequestsPerSecond,8:F1} {x.RequestsPerSecond,8:F1} "
                    + $"{x.Percentile(50),8:F1} {x.Percentile(95),8:F1} {x.Percentile(99),8:F1} {x.MeanBatchTexts,6:F1} {x.Errors,6}");
            foreach (var preset in presetNames)
            {
                var on = results.First(x => x.Preset == preset && x.Batching);
                var off = results.First(x => x.Preset == preset && !x.Batching);
                Console.Error.WriteLine($"{preset}: micro-batching gives {on.RequestsPerSecond / off.RequestsPerSecond:F2}× the throughput, p99 {on.Percentile(99):F1} vs {off.Percentile(99):F1} ms");
            }
            if (r.GetValue(json))
                Cli.WriteJson(new
                {
                    sentences = sentences.Count,
                    clients = n,
                    seconds = secs,
                    rounds,
                    warmup_seconds = warm,
                    threads = dense.Compute.Threads,
                    max_batch = server.Get(r, common).MaxBatchTexts,
                    max_delay_ms = r.GetValue(server.MaxDelay),
                    configurations = results.Select(x => new
                    {
                        preset = x.Preset,
                        batching = x.Batching,
                        requests = x.Requests,
                        errors = x.Errors,
                        requests_per_s = x.RequestsPerSecond,
                        // One sentence per request.
                        texts_per_s = x.RequestsPerSecond,
                        p50_ms = x.Percentile(50),
                        p95_ms = x.Percentile(95),
                        p99_ms = x.Percentile(99),
                        mean_batch_texts = x.MeanBatchTexts,
                    }),
                });
            return 0;
        });
        return command;
    }

    /// <summary>The most resident memory may grow from minute 2 to the end of a soak run.</summary>
    internal const double MaxGrowthPercent = 5;

    private static int Soak(TextEmbedder embedder, Serve.ServeOptions options, string preset, IReadOnlyList<string> sentences, int clients, double warm, double secs, bool json)
    {
        Console.Error.WriteLine($"  soak: {preset}, micro-batching, {secs:F0} s...");
        var memory = new ResidentMemorySampler(TimeSpan.FromSeconds(5));
        var x = ServeLoad.RunAsync(embedder, options, preset, sentences, clients, TimeSpan.FromSeconds(warm), TimeSpan.FromSeconds(secs), memory).GetAwaiter().GetResult();
        // Minute 2: by then the heap, the JIT and the pools have settled; a shorter run takes a fifth of its length.
        double earlyAt = Math.Min(120, secs / 5);
        var early = memory.At(earlyAt);
        var end = memory.Samples[^1];
        double growth = 100.0 * (end.Bytes - early.Bytes) / early.Bytes;
        static double Mb(long bytes) => bytes / (1024.0 * 1024.0);
        Console.Error.WriteLine($"{x.Requests} requests ({x.RequestsPerSecond:F1}/s), {x.Errors} errors, p50 {x.Percentile(50):F1} ms, p95 {x.Percentile(95):F1} ms, p99 {x.Percentile(99):F1} ms, "
            + $"mean batch {x.MeanBatchTexts:F1} texts; resident memory {Mb(early.Bytes):F1} MiB at {early.Seconds:F0} s, {Mb(end.Bytes):F1} MiB at {end.Seconds:F0} s ({growth:+0.0;-0.0} %)");
        bool passed = x.Errors == 0 && growth <= MaxGrowthPercent;
        if (!passed) Console.Error.WriteLine($"soak FAILED: {(x.Errors > 0 ? $"{x.Errors} errors" : "")}{(x.Errors > 0 && growth > MaxGrowthPercent ? ", " : "")}{(growth > MaxGrowthPercent ? $"memory grew {growth:F1} % (limit {MaxGrowthPercent} %)" : "")}");
        if (json)
            Cli.WriteJson(new
            {
                soak = true,
                preset,
                clients,
                seconds = secs,
                warmup_seconds = warm,
                threads = embedder.Compute.Threads,
                max_batch = options.MaxBatchTexts,
                requests = x.Requests,
                errors = x.Errors,
                requests_per_s = x.RequestsPerSecond,
                p50_ms = x.Percentile(50),
                p95_ms = x.Percentile(95),
                p99_ms = x.Percentile(99),
                mean_batch_texts = x.MeanBatchTexts,
                rss_early_s = early.Seconds,
                rss_early_mib = Mb(early.Bytes),
                rss_end_s = end.Seconds,
                rss_end_mib = Mb(end.Bytes),
                rss_growth_percent = growth,
                passed,
                rss_samples = memory.Samples.Select(s => new { s = Math.Round(s.Seconds, 1), mib = Math.Round(Mb(s.Bytes), 1) }),
            });
        return passed ? 0 : 1;
    }
}
