namespace RepShift.Vision;

/// <summary>
/// Resizes a square grid of learned position embeddings, [g·g, D] → [n·n, D], by bicubic interpolation
/// (a = −0.75, half-pixel centres, edges clamped: PyTorch's interpolate(mode="bicubic", align_corners=False)),
/// so a model runs at another image size without retraining.
/// </summary>
public static class PositionInterpolation
{
    private const double A = -0.75;

    public static float[] Bicubic(ReadOnlySpan<float> grid, int from, int to, int dim)
    {
        if (from <= 0 || to <= 0) throw new ArgumentException("grid sizes must be positive");
        if (grid.Length != from * from * dim) throw new ArgumentException($"position grid has {grid.Length} values, {from}×{from}×{dim} needs {from * from * dim}");
        var result = new float[to * to * dim];
        if (from == to)
        {
            grid.CopyTo(result);
            return result;
        }
        var (iy, wy) = Taps(from, to);
        for (int y = 0; y < to; y++)
            for (int x = 0; x < to; x++)
            {
                var o = result.AsSpan((y * to + x) * dim, dim);
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++)
                    {
                        float w = (float)(wy[y * 4 + a] * wy[x * 4 + b]);
                        var src = grid.Slice((iy[y * 4 + a] * from + iy[x * 4 + b]) * dim, dim);
                        for (int k = 0; k < dim; k++) o[k] += w * src[k];
                    }
            }
        return result;
    }

    /// <summary>For each output index, its four source indices (clamped) and cubic weights.</summary>
    private static (int[] Index, double[] Weight) Taps(int from, int to)
    {
        var index = new int[to * 4];
        var weight = new double[to * 4];
        double scale = (double)from / to;
        for (int i = 0; i < to; i++)
        {
            double src = (i + 0.5) * scale - 0.5;
            int f = (int)Math.Floor(src);
            double t = src - f;
            for (int k = 0; k < 4; k++)
            {
                index[i * 4 + k] = Math.Clamp(f - 1 + k, 0, from - 1);
                weight[i * 4 + k] = Cubic(t + 1 - k);
            }
        }
        return (index, weight);
    }

    /// <summary>Keys' cubic convolution kernel with a = −0.75.</summary>
    internal static double Cubic(double x)
    {
        x = Math.Abs(x);
        if (x <= 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
        if (x < 2) return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
        return 0;
    }
}
