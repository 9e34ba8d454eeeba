using System.CommandLine;
using RepShift.Cli.Baselines;
using RepShift.Cli.Benchmarks;

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
        var engine = new Option<string>("--engine") { Description = "One engine name as bench --engines takes it (repshift, repshift-int8:balanced, onnxruntime-sorted, …)", Required = true };
        var idsFile = new Option<string>("--ids") { Description = "Pre-tokenized batches written by bench --memory", Required = true }.ExistingFile();
        var ortThreads = new Option<int>("--ort-threads") { Description = "ONNX Runtime intra-op threads", DefaultValueFactory = _ => Environment.ProcessorCount }.Range(1, CommonOptions.MaxThreads);
        var onnxInt8 = new Option<string?>("--onnx-int8") { Description = "The int8 .onnx model of the onnxruntime-int8 engines" }.ExistingFile();
        var command = new Command("memory-probe", "Child process of 'bench --memory': peak memory of one engine") { Hidden = true };
        command.Options.Add(engine);
        command.Options.Add(idsFile);
        command.Options.Add(ortThreads);
        command.Options.Add(onnxInt8);
        common.AddTo(command, compression: false);
        command.SetAction(r =>
        {
            var spec = EngineSpec.Parse(r.GetValue(engine)!);
            var ids = MemoryProbe.ReadIds(r.GetValue(idsFile)!);
            using IEngine e = spec.IsOnnxRuntime
                ? new OnnxRuntimeEngine(new OnnxRuntimeEncoder(OnnxModel(spec, common, r, r.GetValue(onnxInt8)), r.GetValue(ortThreads)), spec.Name, spec.IsSorted, r.GetValue(common.Batch))
                : RepShiftEngine(spec, common.EmbedderOptions(r), r.GetValue(common.Model), r.GetResult(common.BatchTokens) is { Implicit: false });
            MemoryProbe.Probe(e, ids, r.GetValue(common.Batch));
            return 0;
        });
        return command;
    }

    private static byte[] OnnxModel(EngineSpec spec, CommonOptions common, ParseResult r, string? int8File) =>
        !spec.IsOnnxRuntimeInt8 ? common.OnnxBytes(r)
        : int8File != null ? File.ReadAllBytes(int8File)
        : throw new RepShiftException($"{spec.Name} needs --onnx-int8 FILE (bench --memory writes one)");

    private static IEngine RepShiftEngine(EngineSpec spec, EmbedderOptions options, string? model, bool ownBatches)
    {
        var bundle = Loading.ModelLoader.Load(model);
        var plan = spec.PlanFor(bundle.Name);
        options = options with
        {
            Compression = plan,
            Kernel = spec.Base == "repshift-avx2" ? Kernels.GemmKernel.Avx2 : Kernels.GemmKernel.Auto,
            Precision = spec.IsRepShiftInt8 ? Kernels.Precision.Int8 : Kernels.Precision.Fp32,
        };
        var embedder = new TextEmbedder(bundle, options);
        return new RepShiftEngine(embedder, spec.Name, plan, ownBatches, ownsEmbedder: true);
    }
}
