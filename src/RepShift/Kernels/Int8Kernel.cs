namespace RepShift.Kernels;

/// <summary>
/// The int8 GEMM micro-kernel a <see cref="ComputeContext"/> uses. Every kernel computes the exact int32
/// sums of the same quantized integers (no saturation anywhere), so they give bit-identical results.
/// </summary>
public enum Int8Kernel
{
    /// <summary>AVX-VNNI where .NET reports it, AVX2 otherwise.</summary>
    Auto,

    /// <summary>
    /// The 6×16 kernel widening bytes to 16 bits (vpmovsxbw/vpmovzxbw) and multiplying pairs with vpmaddwd: exact
    /// for u8×s8 (vpmaddubsw would saturate at 2·255·127 &gt; 32767, so it is not used).
    /// </summary>
    Avx2,

    /// <summary>The 6×16 kernel on 256-bit VPDPBUSD (u8×s8, four products per int32 lane, no saturation); needs AVX-VNNI.</summary>
    AvxVnni,
}
