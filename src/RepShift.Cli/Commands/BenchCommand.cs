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
        var engines = new Option<string>("--engines")
        {
            Description = "Comma-separated engines, all timed in the same alternating run: "
                + string.Join("; ", EngineSpec.Bases.Select(b => $"{b.Name} ({b.Description})")) + "; repshift:PRESET, repshift-int8:PRESET",
            DefaultValueFactory = _ => EngineSpec.DefaultEngines,
        };
        var onnxInt8 = new Option<string?>("--onnx-int8") { Description = "The int8 .onnx model for the onnxruntime-int8 rows (default: quantized in memory from the fp32 model, as 'repshift quantize-onnx' writes it)" }.ExistingFile();
        var presets = new Option<string?>("--presets") { Description = "Also run RepShift with these compression presets, e.g. balanced,fast (adds repshift:PRESET, and repshift-int8:PRESET when repshift-int8 is an engine)" };
        var limit = new Option<int?>("--limit") { Description = "Use only the first N texts of each workload" }.Range(1);
        var rounds = new Option<int>("--rounds") { Description = "Alternation rounds per workload", DefaultValueFactory = _ => 8 }.Range(1, 1_000_000);
        var ortThreads = new Option<int>("--ort-threads") { Description = "ONNX Runtime intra-op threads", DefaultValueFactory = _ => Environment.ProcessorCount }.Range(1, CommonOptions.MaxThreads);
        var profile = new Option<bool>("--profile") { Description = "Print where RepShift's time goes, by encoder stage" };
        var memory = new Option<bool>("--memory") { Description = "Also measure each engine's peak resident memory, each in a child process of its own (Linux)" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object on stdout" };
        var command = new Command("bench", """
            Compare engines on the same pre-tokenized batches in one run: batches are split into rounds and the
            engines take turns, the order rotating each round, so load drifts hit all engines alike. ONNX Runtime
            runs the same ONNX model on batches padded to their longest member: in input order (onnxruntime), or
            after sorting each round's texts by token count as sentence-transformers does (onnxruntime-sorted,
            little padding); onnxruntime-int8 runs it quantized to int8 as ONNX Runtime's dynamic quantizer does.
            RepShift packs, so it computes no padding. Reports texts/s, tokens/s, the ratio to every ONNX Runtime
            row and the strongest of them, and the instruction sets .NET reports; with --memory also each engine's peak resident
            memory, measured in a child process per engine (whole process, and while embedding). Workloads: sick (6,077 distinct sentences,
            batch 64), bbc-256 and bbc-512 (2,225 BBC articles truncated to 256/512 tokens, batch 16).
            Example: repshift bench --workloads sick --json
            """);
        foreach (var o in new Option[] { workloads, data, engines, onnxInt8, presets, limit, rounds, ortThreads, profile, memory, json }) command.Options.Add(o);
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
            var specs = EngineSpec.List(r.GetValue(engines)!, r.GetValue(presets));
            if (specs.Any(e => e.Base == "repshift-avx2") && !AutoIsAvx512())
                throw new RepShiftException("repshift-avx2 compares the GEMM kernels, but AVX-512 is not in use here (no AVX-512F, or REPSHIFT_AVX512=0): plain repshift already runs AVX2");
            var model = ModelLoader.Load(r.GetValue(common.Model));
            string? int8File = r.GetValue(onnxInt8);
            bool int8 = specs.Any(e => e.IsOnnxRuntimeInt8);
            byte[]? onnx = specs.Any(e => e.IsOnnxRuntime && !(e.IsOnnxRuntimeInt8 && int8File != null)) ? common.OnnxBytes(r) : null;
            Console.Error.WriteLine($"instruction sets (.NET): {Isa.Describe()}");
            byte[]? onnxInt8Bytes = null;
            if (int8 && int8File != null) onnxInt8Bytes = File.ReadAllBytes(int8File);
            else if (int8)
            {
                var q = OnnxDynamicQuantizer.Quantize(onnx!, r.GetValue(common.Model) ?? ModelLoader.DefaultModelName);
                onnxInt8Bytes = q.Model;
                Console.Error.WriteLine($"onnxruntime-int8: {q.QuantizedMatMuls} MatMuls quantized in memory as ONNX Runtime's dynamic quantizer does (per-channel weights; check the fusion with 'repshift quantize-onnx')");
            }
            // The memory probe's children load the int8 model from a file, as a user would.
            string? probeInt8File = int8File;
            if (int8 && r.GetValue(memory) && probeInt8File == null)
                File.WriteAllBytes(probeInt8File = Path.Combine(Path.GetTempPath(), $"repshift-int8-{Environment.ProcessId}.onnx"), onnxInt8Bytes!);
            try
            {
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
                    TextEmbedder? int8Embedder = null;
                    foreach (var spec in specs)
                    {
                        if (spec.IsOnnxRuntime)
                            list.Add(new OnnxRuntimeEngine(new OnnxRuntimeEncoder(spec.IsOnnxRuntimeInt8 ? onnxInt8Bytes! : onnx!, r.GetValue(ortThreads)), spec.Name, spec.IsSorted, batch));
                        else if (spec.Base == "repshift-avx2")
                            list.Add(new RepShiftEngine(new TextEmbedder(model, embedder.Options with { Kernel = GemmKernel.Avx2, Profile = null }), spec.Name, ownBatches: ownBatches, ownsEmbedder: true));
                        else
                        {
                            var e = spec.IsRepShiftInt8 ? int8Embedder ??= new TextEmbedder(model, embedder.Options with { Precision = Precision.Int8, Profile = null }) : embedder;
                            var plan = spec.PlanFor(model.Name);
                            plan.Validate(e.Encoder.Config.Layers, e.ModelName);
                            list.Add(new RepShiftEngine(e, spec.Name, spec.Preset == null ? null : plan, ownBatches));
                        }
                    }

                    var timings = Cli.WithProgress($"{w.Name}", w.Texts.Count, p => ThroughputBenchmark.Run(list, ids, batch, r.GetValue(rounds), p));
                    foreach (var e in list) e.Dispose();
                    int8Embedder?.Dispose();
                    long tokens = ids.Sum(x => (long)x.Length);
                    // What padding to each batch's longest member costs ONNX Runtime (RepShift computes only real tokens):
                    // the batches in input order, and each round's texts sorted by length (the -sorted rows).
                    long padded = ids.Chunk(batch).Sum(b => (long)b.Length * b.Max(x => x.Length));
                    long sortedPadded = ThroughputBenchmark.Rounds(ids, batch, r.GetValue(rounds))
                        .Sum(round => round.OrderByDescending(x => x.Length).Chunk(batch).Sum(b => (long)b.Length * b[0].Length));
                    var ortRows = timings.Where(t => EngineSpec.Parse(t.Engine).IsOnnxRuntime).ToList();
                    Console.Error.WriteLine($"{w.Name}: {w.Texts.Count} texts, {tokens} tokens (max {w.MaxTokens}), batch {batch}"
                        + (ownBatches ? $" (RepShift: its own batches of ≤ {embedder.Options.BatchTokens} tokens, ≤ {embedder.Options.BatchSize} texts)" : "") + $", threads {embedder.Compute.Threads}, GEMM kernel {KernelName(embedder.Compute.Kernel)}, ONNX Runtime threads {r.GetValue(ortThreads)}"
                        + $" (padded batches: {padded} token rows, {(double)padded / tokens:F2}× the real tokens; sorted: {sortedPadded}, {(double)sortedPadded / tokens:F2}×)");
                    foreach (var t in timings)
                        Console.Error.WriteLine($"  {t.Engine,-24} {t.Seconds,8:F2} s {t.ItemsPerSecond,9:F1} texts/s {t.TokensPerSecond,10:F0} tokens/s"
                            + string.Concat(ortRows.Where(o => o != t).Select(o => $"  {o.Seconds / t.Seconds:F2}× {o.Engine}")));
                    // The summary: each RepShift row against the fastest ONNX Runtime row, whichever it is.
                    var strongest = ortRows.MinBy(o => o.Seconds);
                    if (strongest != null && timings.Any(t => !ortRows.Contains(t)))
                        Console.Error.WriteLine($"  strongest ONNX Runtime row: {strongest.Engine} ({strongest.ItemsPerSecond:F1} texts/s); "
                            + string.Join(", ", timings.Where(t => !ortRows.Contains(t)).Select(t => $"{t.Engine} {strongest.Seconds / t.Seconds:F2}×")));
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
                        memoryData = MemoryProbe.Run([.. timings.Select(t => t.Engine)], ids, batch, ownBatches ? embedder.Options.BatchTokens : null, embedder.Compute.Threads, r.GetValue(ortThreads), w.MaxTokens, r.GetValue(common.Model), probeInt8File);
                        var ortMemory = memoryData.FirstOrDefault(m => m.Engine == "onnxruntime");
                        foreach (var m in memoryData)
                            Console.Error.WriteLine($"  {m.Engine,-24} peak {Mb(m.PeakBytes),7:F0} MB   while embedding {Mb(m.EmbedPeakBytes),7:F0} MB   after loading {Mb(m.LoadedBytes),7:F0} MB"
                                + (ortMemory != null && m != ortMemory ? $"  {(double)m.PeakBytes / ortMemory.PeakBytes:F2}× ONNX Runtime's peak" : ""));
                    }
                    results.Add(new
                    {
                        name = w.Name,
                        texts = w.Texts.Count,
                        tokens,
                        max_tokens = w.MaxTokens,
                        padded_tokens = padded,
                        sorted_padded_tokens = sortedPadded,
                        batch,
                        repshift_batch_tokens = ownBatches ? embedder.Options.BatchTokens : (int?)null,
                        engines = timings.Select(t => new
                        {
                            engine = t.Engine,
                            seconds = t.Seconds,
                            texts_per_s = t.ItemsPerSecond,
                            tokens_per_s = t.TokensPerSecond,
                            vs = ortRows.Where(o => o != t).ToDictionary(o => o.Engine, o => o.Seconds / t.Seconds),
                        }),
                        strongest_onnxruntime = strongest?.Engine,
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
                if (r.GetValue(json)) Cli.WriteJson(new { threads = common.ThreadCount(r), gemm_kernel = AutoIsAvx512() ? "avx512" : "avx2", isa = Isa.Flags, ort_threads = r.GetValue(ortThreads), workloads = results });
            }
            finally
            {
                if (probeInt8File != null && probeInt8File != int8File) File.Delete(probeInt8File);
            }
            return 0;
        });
        return command;
    }

    private static bool AutoIsAvx512() => ComputeContext.AutoKernel == GemmKernel.Avx512;

    private static string KernelName(GemmKernel kernel) => kernel == GemmKernel.Avx512 ? "avx512" : "avx2";

    private static double Mb(long bytes) => bytes / (1024.0 * 1024.0);

    private static string[] Split(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
