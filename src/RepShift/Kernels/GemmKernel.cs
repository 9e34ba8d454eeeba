namespace RepShift.Kernels;

/// <summary>
/// The GEMM micro-kernel a <see cref="ComputeContext"/> uses. Both add the products of each output in the
/// same order, so they give bit-identical results; they differ only in speed.
/// </summary>
public enum GemmKernel
{
    /// <summary>AVX-512 where .NET reports AVX-512F (unless REPSHIFT_AVX512=0), AVX2 otherwise.</summary>
    Auto,

    /// <summary>The 6×16 kernel on 256-bit vectors.</summary>
    Avx2,

    /// <summary>The 12×32 kernel on 512-bit vectors for full panel pairs; needs AVX-512F.</summary>
    Avx512,
}
