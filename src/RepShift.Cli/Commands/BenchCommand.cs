using System.CommandLine;
using RepShift.Cli.Baselines;
using RepShift.Cli.Benchmarks;
using RepShift.Compression;
using RepShift.Kernels;
using RepShift.Loading;
using RepShift.Models;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift bench</c>: RepShift (dense and presets) against ONNX Runtime on the same batches, in one run, alternating.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var workloads = new Option<string>("--workloads") { Description = $"Comma-separated: {string.Join(", ", Workloads.Names)}, sts (with --data)", DefaultValueFactory = _ => "sick,bbc-256" };
        var data = new Option<string?>("--data") { Description = "Data for the workloads (default: ../shared/data/...); an STS-layout file for the sts workload" };
        var engines = new Option<string>("--engines") { Description = "Comma-separated: repshift, onnxruntime, repshift-avx2 (dense RepShift held to the AVX2 GEMM kernel, to compare with the AVX-512 one in the same run)", DefaultValueFactory = _ => "repshift,onnxruntime" };
        var presets = new Option<string?>("--presets") { Description = "Also run RepShift with these compression presets, e.g. balanced,fast" };
        var limit = new Option<int?>("--limit") { Description = "Use only the first N texts of each workload" }.Range(1);
        var rounds = new Option<int>("--rounds") { Description = "Alternation rounds per workload", DefaultValueFactory = _ => 8 }.Range(1, 1_000_000);
        var ortThreads = new Option<int>("--ort-threads") { Description = "ONNX Runtime intra-op threads", DefaultValueFactory = _ => Environment.ProcessorCount }.Range(1, CommonOptions.MaxThreads);
        var profile = new Option<bool>("--profile") { Description = "Print where RepShift's time goes, by encoder stage" };
        var memory = new Option<bool>("--memory") { Description = "Also measure each engine's peak resident memory, each in a child process of its own (Linux)" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object on stdout" };
        var command = new Command("bench", """
            Compare engines on the same pre-tokenized batches in one run: batches are split into rounds and the
            engines take turns, the order rotating each round, so load drifts hit all engines alike. ONNX Runtime
            runs the same ONNX model with batches padded to their longest member (as users run it); RepShift packs.
            Reports texts/s, tokens/s and the ratio to ONNX Runtime; with --memory also each engine's peak resident
            memory, measured in a child process per engine (whole process, and while embedding). Workloads: sick (6,077 distinct sentences,
            batch 64), bbc-256 and bbc-512 (2,225 BBC articles truncated to 256/512 tokens, batch 16).
            Example: repshift bench --workloads sick --json
            """);
        foreach (var o in new Option[] { workloads, data, engines, presets, limit, rounds, ortThreads, profile, memory, json }) command.Options.Add(o);
        common.AddTo(command, compression: false);
        command.Subcommands.Add(BenchGemmCommand.Create());
        command.Subcommands.Add(BenchAttentionCommand.Create());
        command.Subcommands.Add(BenchServeCommand.Create());
        command.Subcommands.Add(BenchFuzzRequestsCommand.Create());
        command.Subcommands.Add(BenchMemoryProbeCommand.Create());
        command.Subcommands.Add(BenchFuzzModelsCommand.Create());
        command.SetAction(r =>
        {
            var names = Split(r.GetValue(workloads)!);
            var engineNames = Split(r.GetValue(engines)!);
            foreach (var e in engineNames)
            {
                if (e is not ("repshift" or "onnxruntime" or "repshift-avx2")) throw new RepShiftException($"unknown engine '{e}': use repshift, onnxruntime, repshift-avx2");
                if (e == "repshift-avx2" && !AutoIsAvx512()) throw new RepShiftException("repshift-avx2 compares the GEMM kernels, but AVX-512 is not in use here (no AVX-512F, or REPSHIFT_AVX512=0): plain repshift already runs AVX2");
            }
            var presetNames = Split(r.GetValue(presets) ?? "");
            var model = ModelLoader.Load(r.GetValue(common.Model));
            byte[]? onnx = engineNames.Contains("onnxruntime") ? common.OnnxBytes(r) : null;
            var results = new List<object>();
            foreach (var name in names)
            {
                var w = Workloads.Load(name, r.GetValue(data), r.GetValue(limit));
                var profileData = r.GetValue(profile) ? new EncoderProfile() : null;
                using var embedder = new TextEmbedder(model, common.EmbedderOptions(r) with { MaxTokens = w.MaxTokens, Profile = profileData });
                var ids = w.Texts.Select(t => embedder.Tokenize(t).Ids).ToList();
                int batch = r.GetResult(common.Batch) is { Implicit: false } ? r.GetValue(common.Batch) : w.BatchSize;
                // RepShift takes the same batches as ONNX Runtime unless --batch-tokens asks it to form its own by token count.
                bool ownBatches = r.GetResult(common.BatchTokens) is { Implicit: false };
                var list = new List<IEngine>();
                if (engineNames.Contains("repshift")) list.Add(new RepShiftEngine(embedder, ownBatches: ownBatches));
                if (engineNames.Contains("repshift-avx2"))
                    list.Add(new RepShiftEngine(new TextEmbedder(model, embedder.Options with { Kernel = GemmKernel.Avx2, Profile = null }), "repshift-avx2", ownBatches: ownBatches, ownsEmbedder: true));
                foreach (var p in presetNames)
                {
                    var plan = Presets.Get(p, model.Name);
                    plan.Validate(embedder.Encoder.Config.Layers, embedder.ModelName);
                    list.Add(new RepShiftEngine(embedder, "repshift:" + p, plan, ownBatches));
                }
                if (onnx != null) list.Add(new OnnxRuntimeEngine(new OnnxRuntimeEncoder(onnx, r.GetValue(ortThreads))));

                var timings = Cli.WithProgress($"{w.Name}", w.Texts.Count, p => ThroughputBenchmark.Run(list, ids, batch, r.GetValue(rounds), p));
                foreach (var e in list) e.Dispose();
                long tokens = ids.Sum(x => (long)x.Length);
                // What padding to each batch's longest member costs ONNX Runtime (RepShift computes only real tokens).
                long padded = ids.Chunk(batch).Sum(b => (long)b.Length * b.Max(x => x.Length));
                var ort = timings.FirstOrDefault(t => t.Engine == "onnxruntime");
                Console.Error.WriteLine($"{w.Name}: {w.Texts.Count} texts, {tokens} tokens (max {w.MaxTokens}), batch {batch}"
                    + (ownBatches ? $" (RepShift: its own batches of ≤ {embedder.Options.BatchTokens} tokens, ≤ {embedder.Options.BatchSize} texts)" : "") + $", threads {embedder.Compute.Threads}, GEMM kernel {KernelName(embedder.Compute.Kernel)}, ONNX Runtime threads {r.GetValue(ortThreads)} (padded batches: {padded} token rows, {(double)padded / tokens:F2}× the real tokens)");
                foreach (var t in timings)
                    Console.Error.WriteLine($"  {t.Engine,-22} {t.Seconds,8:F2} s {t.ItemsPerSecond,9:F1} texts/s {t.TokensPerSecond,10:F0} tokens/s"
                        + (ort != null && t != ort ? $"  {ort.Seconds / t.Seconds:F2}× ONNX Runtime" : ""));
                if (profileData != null)
                {
                    double total = profileData.Totals.Sum(x => x.Seconds);
                    foreach (var (stage, seconds) in profileData.Totals)
                        Console.Error.WriteLine($"    {stage,-16} {seconds,8:F3} s {100 * seconds / total,5:F1}%");
                }
                IReadOnlyList<EngineMemory> memoryData = [];
                if (r.GetValue(memory))
                {
                    Console.Error.WriteLine($"  peak memory, one child process per engine:");
                    memoryData = MemoryProbe.Run([.. timings.Select(t => t.Engine)], ids, batch, ownBatches ? embedder.Options.BatchTokens : null, embedder.Compute.Threads, r.GetValue(ortThreads), w.MaxTokens, r.GetValue(common.Model));
                    var ortMemory = memoryData.FirstOrDefault(m => m.Engine == "onnxruntime");
                    foreach (var m in memoryData)
                        Console.Error.WriteLine($"  {m.Engine,-22} peak {Mb(m.PeakBytes),7:F0} MB   while embedding {Mb(m.EmbedPeakBytes),7:F0} MB   after loading {Mb(m.LoadedBytes),7:F0} MB"
                            + (ortMemory != null && m != ortMemory ? $"  {(double)m.PeakBytes / ortMemory.PeakBytes:F2}× ONNX Runtime's peak" : ""));
                }
                results.Add(new
                {
                    name = w.Name,
                    texts = w.Texts.Count,
                    tokens,
                    max_tokens = w.MaxTokens,
                    padded_tokens = padded,
                    batch,
                    repshift_batch_tokens = ownBatches ? embedder.Options.BatchTokens : (int?)null,
                    engines = timings.Select(t => new
                    {
                        engine = t.Engine,
                        seconds = t.Seconds,
                        texts_per_s = t.ItemsPerSecond,
                        tokens_per_s = t.TokensPerSecond,
                        vs_onnxruntime = ort == null ? (double?)null : ort.Seconds / t.Seconds,
                    }),
                    memory = memoryData.Count == 0 ? null : memoryData.Select(m => new
                    {
                        engine = m.Engine,
                        peak_bytes = m.PeakBytes,
                        embed_peak_bytes = m.EmbedPeakBytes,
                        loaded_bytes = m.LoadedBytes,
                        peak_vs_onnxruntime = memoryData.FirstOrDefault(o => o.Engine == "onnxruntime") is { } o ? (double)m.PeakBytes / o.PeakBytes : (double?)null,
                    }),
                });
            }
            if (r.GetValue(json)) Cli.WriteJson(new { threads = common.ThreadCount(r), gemm_kernel = AutoIsAvx512() ? "avx512" : "avx2", ort_threads = r.GetValue(ortThreads), workloads = results });
            return 0;
        });
        return command;
    }

    private static bool AutoIsAvx512() => ComputeContext.AutoKernel == GemmKernel.Avx512;

    private static string KernelName(GemmKernel kernel) => kernel == GemmKernel.Avx512 ? "avx512" : "avx2";

    private static double Mb(long bytes) => bytes / (1024.0 * 1024.0);

    private static string[] Split(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
