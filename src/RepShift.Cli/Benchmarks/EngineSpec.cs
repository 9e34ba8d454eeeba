using RepShift.Compression;

namespace RepShift.Cli.Benchmarks;

/// <summary>
/// One engine of <c>repshift bench</c>, by name: RepShift (fp32 or int8, dense or with a compression preset,
/// "repshift-int8:balanced") or ONNX Runtime (fp32 or its int8 dynamic quantization, padded or length-sorted batches).
/// </summary>
internal sealed record EngineSpec(string Name, string Base, string? Preset)
{
    /// <summary>The engine names <c>--engines</c> takes, with what each runs (the --help text lists them).</summary>
    public static readonly (string Name, string Description)[] Bases =
    [
        ("repshift", "RepShift fp32, dense"),
        ("repshift-int8", "RepShift with int8 linear layers (EmbedderOptions.Precision = Int8), dense"),
        ("repshift-avx2", "dense RepShift held to the AVX2 GEMM kernel"),
        ("onnxruntime", "ONNX Runtime fp32, the batches in input order, padded to their longest member"),
        ("onnxruntime-sorted", "ONNX Runtime fp32, each round's texts sorted by token count before batching (as sentence-transformers' encode() does)"),
        ("onnxruntime-int8", "ONNX Runtime on the model quantized as its dynamic quantizer does (int8 MatMuls, per-channel weights), sorted batches"),
        ("onnxruntime-int8-padded", "the same int8 model, padded batches in input order"),
    ];

    /// <summary>
    /// RepShift against every ONNX Runtime anchor a user could pick: padded (how .NET users call it), sorted (how
    /// sentence-transformers calls it) and int8 (what local-embedding libraries ship). repshift-int8 is a
    /// precision the user chooses, so it is asked for by name, like presets.
    /// </summary>
    public const string DefaultEngines = "repshift,onnxruntime,onnxruntime-sorted,onnxruntime-int8";

    public bool IsOnnxRuntime => Base.StartsWith("onnxruntime", StringComparison.Ordinal);

    /// <summary>ONNX Runtime on the int8 model.</summary>
    public bool IsOnnxRuntimeInt8 => Base is "onnxruntime-int8" or "onnxruntime-int8-padded";

    /// <summary>ONNX Runtime fed length-sorted batches.</summary>
    public bool IsSorted => Base is "onnxruntime-sorted" or "onnxruntime-int8";

    public bool IsRepShiftInt8 => Base == "repshift-int8";

    /// <summary>The compression plan of a RepShift engine on <paramref name="model"/> (dense without a preset; presets are per model).</summary>
    public CompressionPlan PlanFor(string model) => Preset == null ? CompressionPlan.None : Presets.Get(Preset, model);

    /// <summary>Parses "repshift", "repshift-int8:balanced", "onnxruntime-sorted", …; an unknown name is a one-line error.</summary>
    public static EngineSpec Parse(string name)
    {
        int colon = name.IndexOf(':');
        string bas = colon < 0 ? name : name[..colon];
        string? preset = colon < 0 ? null : name[(colon + 1)..];
        if (!Bases.Any(b => b.Name == bas))
            throw new RepShiftException($"unknown engine '{name}': use {string.Join(", ", Bases.Select(b => b.Name))}, or repshift:PRESET / repshift-int8:PRESET");
        if (preset != null)
        {
            if (bas is not ("repshift" or "repshift-int8")) throw new RepShiftException($"engine '{name}': only repshift and repshift-int8 take a compression preset");
            Presets.Get(preset); // an unknown preset is an error here, before any model loads
        }
        return new EngineSpec(name, bas, preset);
    }

    /// <summary>
    /// The engines one bench run times: <paramref name="engines"/> in the order given, then for each preset
    /// repshift:PRESET and, when repshift-int8 is among the engines, repshift-int8:PRESET. Duplicates are dropped.
    /// </summary>
    public static IReadOnlyList<EngineSpec> List(string engines, string? presets)
    {
        var names = Split(engines);
        if (names.Length == 0) throw new RepShiftException("--engines is empty: name at least one engine");
        var specs = names.Select(Parse).ToList();
        bool int8 = specs.Any(s => s.Base == "repshift-int8");
        foreach (var p in Split(presets ?? ""))
        {
            specs.Add(Parse("repshift:" + p));
            if (int8) specs.Add(Parse("repshift-int8:" + p));
        }
        return [.. specs.DistinctBy(s => s.Name)];
    }

    private static string[] Split(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
