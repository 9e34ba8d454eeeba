using System.Runtime.Intrinsics.X86;

namespace RepShift.Cli.Benchmarks;

/// <summary>The vector instruction sets .NET reports on this machine: what a benchmark's figures depend on.</summary>
internal static class Isa
{
    /// <summary>Each instruction set .NET exposes that the kernels (or ONNX Runtime's) could use, and whether it is supported here.</summary>
    public static IReadOnlyDictionary<string, bool> Flags { get; } = new Dictionary<string, bool>
    {
        ["avx2"] = Avx2.IsSupported,
        ["fma"] = Fma.IsSupported,
        ["avx512f"] = Avx512F.IsSupported,
        ["avx512bw"] = Avx512BW.IsSupported,
        ["avx_vnni"] = AvxVnni.IsSupported,
        ["avx10v1"] = Avx10v1.IsSupported,
    };

    /// <summary>The supported ones, e.g. "avx2 fma avx512f avx512bw avx_vnni" ("none" on a machine without them).</summary>
    public static string Describe()
    {
        var on = Flags.Where(f => f.Value).Select(f => f.Key).ToList();
        return on.Count == 0 ? "none" : string.Join(" ", on);
    }
}
