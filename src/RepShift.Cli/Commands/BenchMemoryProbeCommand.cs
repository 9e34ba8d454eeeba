using System.CommandLine;
using RepShift.Cli.Baselines;
using RepShift.Cli.Benchmarks;
using RepShift.Compression;

namespace RepShift.Cli.Commands;

/// <summary>
/// <c>repshift bench memory-probe</c> (hidden): the child process of <c>bench --memory</c>. Loads one engine
/// and nothing else, embeds the ids file once and prints its peak resident memory as one JSON line.
/// </summary>
internal static class BenchMemoryProbeCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var engine = new Option<string>("--engine") { Description = "repshift, repshift-avx2, repshift:PRESET or onnxruntime", Required = true };
        var idsFile = new Option<string>("--ids") { Description = "Pre-tokenized batches written by bench --memory", Required = true }.ExistingFile();
        var ortThreads = new Option<int>("--ort-threads") { Description = "ONNX Runtime intra-op threads", DefaultValueFactory = _ => Environment.ProcessorCount }.Range(1, CommonOptions.MaxThreads);
        var command = new Command("memory-probe", "Child process of 'bench --memory': peak memory of one engine") { Hidden = true };
        command.Options.Add(engine);
        command.Options.Add(idsFile);
        command.Options.Add(ortThreads);
        common.AddTo(command, compression: false);
        command.SetAction(r =>
        {
            string spec = r.GetValue(engine)!;
            var ids = MemoryProbe.ReadIds(r.GetValue(idsFile)!);
            using IEngine e = spec == "onnxruntime"
                ? new OnnxRuntimeEngine(new OnnxRuntimeEncoder(common.OnnxBytes(r), r.GetValue(ortThreads)))
                : RepShiftEngine(spec, common.EmbedderOptions(r), r.GetValue(common.Model), r.GetResult(common.BatchTokens) is { Implicit: false });
            MemoryProbe.Probe(e, ids, r.GetValue(common.Batch));
            return 0;
        });
        return command;
    }

    private static IEngine RepShiftEngine(string spec, EmbedderOptions options, string? model, bool ownBatches)
    {
        var plan = spec is "repshift" or "repshift-avx2" ? CompressionPlan.None
            : spec.StartsWith("repshift:", StringComparison.Ordinal) ? Presets.Get(spec["repshift:".Length..])
            : throw new RepShiftException($"unknown engine '{spec}': use repshift, repshift-avx2, repshift:PRESET or onnxruntime");
        var embedder = TextEmbedder.Load(model, options with { Compression = plan, Kernel = spec == "repshift-avx2" ? Kernels.GemmKernel.Avx2 : Kernels.GemmKernel.Auto });
        return new RepShiftEngine(embedder, spec, plan, ownBatches, ownsEmbedder: true);
    }
}
