namespace RepShift.Kernels;

/// <summary>
/// The number format of the encoder's linear layers (the four GEMMs of each layer). Attention, LayerNorm,
/// GELU, biases and residuals stay fp32 in every precision.
/// </summary>
public enum Precision
{
    /// <summary>fp32 weights and activations: the reference.</summary>
    Fp32,

    /// <summary>
    /// int8 weights (one scale per output channel, quantized at load) and int8 activations (one scale per
    /// token, quantized at run time), int32 accumulation, dequantized in the GEMM epilogue.
    /// </summary>
    Int8,
}
