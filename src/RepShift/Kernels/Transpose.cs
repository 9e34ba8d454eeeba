namespace RepShift.Kernels;

/// <summary>Row-major matrix transposition, the one copy every loader and the trainer use.</summary>
public static class Transpose
{
    /// <summary>dst[c, r] = src[r, c] for a [rows, cols] source, in cache-sized blocks.</summary>
    public static void Into(ReadOnlySpan<float> src, int rows, int cols, Span<float> dst)
    {
        if (src.Length < (long)rows * cols) throw new ArgumentException($"source has {src.Length} values, [{rows}, {cols}] needs {(long)rows * cols}", nameof(src));
        if (dst.Length < (long)rows * cols) throw new ArgumentException($"destination has {dst.Length} values, [{cols}, {rows}] needs {(long)rows * cols}", nameof(dst));
        const int block = 32;
        for (int r0 = 0; r0 < rows; r0 += block)
            for (int c0 = 0; c0 < cols; c0 += block)
            {
                int r1 = Math.Min(rows, r0 + block), c1 = Math.Min(cols, c0 + block);
                for (int r = r0; r < r1; r++)
                    for (int c = c0; c < c1; c++) dst[c * rows + r] = src[r * cols + c];
            }
    }

    /// <summary>A new [cols, rows] array holding the transpose of a [rows, cols] source.</summary>
    public static float[] Of(ReadOnlySpan<float> src, int rows, int cols)
    {
        var dst = new float[rows * cols];
        Into(src, rows, cols, dst);
        return dst;
    }
}
