namespace RepShift.Kernels;

/// <summary>
/// One linear layer's weight matrix B[K, N] in the precision chosen at construction: packed fp32 for
/// <see cref="Gemm"/> or per-channel int8 for <see cref="Int8Gemm"/>. Only the packed form is kept, so a
/// layer built in int8 holds no fp32 copy of its matrix.
/// </summary>
public sealed class LinearWeights
{
    private readonly PackedMatrix? _fp32;
    private readonly PackedInt8Matrix? _int8;

    /// <summary>Packs (fp32) or quantizes and packs (int8) a row-major matrix stored [rows = K, cols = N].</summary>
    public LinearWeights(ReadOnlySpan<float> rowMajor, int rows, int cols, Precision precision)
    {
        Precision = precision;
        if (precision == Precision.Int8) _int8 = PackedInt8Matrix.Quantize(rowMajor, rows, cols);
        else _fp32 = PackedMatrix.Pack(rowMajor, rows, cols);
    }

    public Precision Precision { get; }

    /// <summary>Bytes the packed weights hold.</summary>
    public long Bytes => _int8?.Bytes ?? 4L * _fp32!.Data.LongLength;

    /// <summary>C = act(A·B + bias (+ residual)) with the GEMM of this layer's precision.</summary>
    public void Multiply(ComputeContext compute, ReadOnlySpan<float> a, int m, ReadOnlySpan<float> bias, Span<float> c,
        Activation activation = Activation.None, ReadOnlySpan<float> residual = default)
    {
        if (_int8 != null) Int8Gemm.Multiply(compute, a, m, _int8, bias, c, activation, residual);
        else Gemm.Multiply(compute, a, m, _fp32!, bias, c, activation, residual);
    }
}
