namespace RepShift.Kernels;

/// <summary>
/// A weight matrix B[K, N] repacked once, at load time, into column panels of <see cref="PanelWidth"/>
/// columns: panel p holds rows 0..K-1 of columns [p·W, p·W+W) contiguously, zero-padded at the right
/// edge. The GEMM micro-kernel then streams one panel with unit stride.
/// </summary>
public sealed class PackedMatrix
{
    /// <summary>Columns per panel: two Vector256&lt;float&gt; registers.</summary>
    public const int PanelWidth = 16;

    internal readonly float[] Data;

    /// <summary>Rows of B (the shared dimension K).</summary>
    public int Rows { get; }

    /// <summary>Columns of B (the output dimension N).</summary>
    public int Cols { get; }

    internal int Panels => (Cols + PanelWidth - 1) / PanelWidth;

    private PackedMatrix(int rows, int cols)
    {
        Rows = rows;
        Cols = cols;
        Data = new float[(long)Panels * rows * PanelWidth is var n && n <= Array.MaxLength ? (int)n : throw new ArgumentException("matrix too large to pack")];
    }

    /// <summary>Packs a row-major matrix stored [rows = K, cols = N] (PyTorch's Linear weight transposed, as ONNX stores MatMul weights).</summary>
    public static PackedMatrix Pack(ReadOnlySpan<float> rowMajor, int rows, int cols)
    {
        if (rows <= 0 || cols <= 0) throw new ArgumentException($"matrix shape must be positive, got [{rows}, {cols}]");
        if (rowMajor.Length != (long)rows * cols)
            throw new ArgumentException($"matrix data has {rowMajor.Length} values, shape [{rows}, {cols}] needs {(long)rows * cols}");
        var packed = new PackedMatrix(rows, cols);
        var data = packed.Data;
        for (int p = 0; p < packed.Panels; p++)
        {
            int c0 = p * PanelWidth;
            int width = Math.Min(PanelWidth, cols - c0);
            int baseIndex = p * rows * PanelWidth;
            for (int k = 0; k < rows; k++)
                rowMajor.Slice(k * cols + c0, width).CopyTo(data.AsSpan(baseIndex + k * PanelWidth, width));
        }
        return packed;
    }

    /// <summary>Packs the transpose of a row-major [N, K] matrix (PyTorch's Linear weight as stored in safetensors).</summary>
    public static PackedMatrix PackTransposed(ReadOnlySpan<float> outByIn, int outFeatures, int inFeatures)
    {
        if (outByIn.Length != (long)outFeatures * inFeatures)
            throw new ArgumentException($"matrix data has {outByIn.Length} values, shape [{outFeatures}, {inFeatures}] needs {(long)outFeatures * inFeatures}");
        return Pack(Transpose.Of(outByIn, outFeatures, inFeatures), inFeatures, outFeatures);
    }
}
