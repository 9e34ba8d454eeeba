namespace RepShift.Kernels;

/// <summary>What the GEMM does to each output tile while it is still in registers.</summary>
public enum Activation
{
    /// <summary>C = A·B + bias (+ residual).</summary>
    None,

    /// <summary>C = GELU(A·B + bias), exact (erf) form as BERT uses.</summary>
    Gelu,
}
