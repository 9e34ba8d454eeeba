namespace RepShift.Kernels;

/// <summary>
/// A weight matrix B[K, N] quantized once, at load time, to symmetric int8 with one scale per output
/// column (scale = max|B[:, n]| / 127), and packed for the int8 micro-kernels: column panels of
/// <see cref="PanelWidth"/> columns, and within a panel groups of four k, each column's four bytes adjacent
/// (the operand layout of VPDPBUSD: lane n of a 256-bit register holds B[k..k+3, n]). K is padded to a
/// multiple of four and N to the panel width with zeros. <see cref="Offsets"/> holds 128·Σₖ B_q[k, n]:
/// the kernels multiply unsigned activations (a_q + 128) and subtract it.
/// </summary>
public sealed class PackedInt8Matrix
{
    /// <summary>Columns per panel: two Vector256&lt;int&gt; accumulators.</summary>
    public const int PanelWidth = 16;

    /// <summary>Largest K whose int32 sums cannot overflow: K · 255 · 127 &lt; 2³¹.</summary>
    public const int MaxRows = 66_000;

    internal readonly sbyte[] Data;

    /// <summary>One dequantization scale per column (padded to whole panels with zeros).</summary>
    internal readonly float[] Scales;

    /// <summary>128 · Σₖ B_q[k, n] per column (padded to whole panels).</summary>
    internal readonly int[] Offsets;

    /// <summary>Rows of B (the shared dimension K).</summary>
    public int Rows { get; }

    /// <summary>Columns of B (the output dimension N).</summary>
    public int Cols { get; }

    /// <summary>K rounded up to a multiple of four: the row stride of the quantized activations.</summary>
    internal int PaddedRows => (Rows + 3) & ~3;

    internal int Panels => (Cols + PanelWidth - 1) / PanelWidth;

    /// <summary>Bytes this matrix holds (weights, scales, offsets).</summary>
    public long Bytes => Data.LongLength + 4L * (Scales.Length + Offsets.Length);

    private PackedInt8Matrix(int rows, int cols)
    {
        Rows = rows;
        Cols = cols;
        long n = (long)Panels * PaddedRows * PanelWidth;
        Data = new sbyte[n <= Array.MaxLength ? (int)n : throw new ArgumentException("matrix too large to pack")];
        Scales = new float[Panels * PanelWidth];
        Offsets = new int[Panels * PanelWidth];
    }

    /// <summary>Quantizes and packs a row-major matrix stored [rows = K, cols = N].</summary>
    public static PackedInt8Matrix Quantize(ReadOnlySpan<float> rowMajor, int rows, int cols)
    {
        if (rows <= 0 || cols <= 0) throw new ArgumentException($"matrix shape must be positive, got [{rows}, {cols}]");
        if (rows > MaxRows) throw new ArgumentException($"K = {rows} exceeds {MaxRows}: the int32 sums could overflow");
        if (rowMajor.Length != (long)rows * cols)
            throw new ArgumentException($"matrix data has {rowMajor.Length} values, shape [{rows}, {cols}] needs {(long)rows * cols}");
        var packed = new PackedInt8Matrix(rows, cols);
        var inverse = new float[cols];
        for (int n = 0; n < cols; n++)
        {
            float max = 0;
            for (int k = 0; k < rows; k++) max = MathF.Max(max, MathF.Abs(rowMajor[k * cols + n]));
            if (!float.IsFinite(max)) throw new ArgumentException($"column {n} holds a non-finite weight");
            packed.Scales[n] = max / 127f;
            inverse[n] = max > 0 ? 127f / max : 0f;
        }
        int kp = packed.PaddedRows;
        for (int k = 0; k < rows; k++)
            for (int n = 0; n < cols; n++)
            {
                int q = Int8Quantizer.Round(rowMajor[k * cols + n] * inverse[n]);
                int p = n / PanelWidth, j = n % PanelWidth;
                packed.Data[((long)p * kp + (k & ~3)) * PanelWidth + j * 4 + (k & 3)] = (sbyte)q;
                packed.Offsets[n] += 128 * q;
            }
        return packed;
    }

    /// <summary>Quantizes the transpose of a row-major [N, K] matrix (PyTorch's Linear weight as stored in safetensors).</summary>
    public static PackedInt8Matrix QuantizeTransposed(ReadOnlySpan<float> outByIn, int outFeatures, int inFeatures)
    {
        if (outByIn.Length != (long)outFeatures * inFeatures)
            throw new ArgumentException($"matrix data has {outByIn.Length} values, shape [{outFeatures}, {inFeatures}] needs {(long)outFeatures * inFeatures}");
        return Quantize(Transpose.Of(outByIn, outFeatures, inFeatures), inFeatures, outFeatures);
    }

    /// <summary>The quantized weight B_q[k, n] (for tests and diagnostics).</summary>
    public sbyte At(int k, int n) => Data[((long)(n / PanelWidth) * PaddedRows + (k & ~3)) * PanelWidth + n % PanelWidth * 4 + (k & 3)];

    /// <summary>The dequantization scale of column n.</summary>
    public float Scale(int n) => Scales[n];
}
