using System.Numerics.Tensors;

namespace RepShift.Kernels;

/// <summary>Row-wise LayerNorm, y = (x − mean) / √(var + eps) · γ + β, in place, fp32 with a two-pass variance.</summary>
public static class LayerNorm
{
    public static void Apply(Span<float> rows, int dim, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps)
    {
        if (dim <= 0 || rows.Length % dim != 0) throw new ArgumentException($"{rows.Length} values are not whole rows of {dim}");
        if (gamma.Length != dim || beta.Length != dim) throw new ArgumentException($"LayerNorm parameters must have {dim} values");
        int count = rows.Length / dim;
        for (int r = 0; r < count; r++) ApplyRow(rows.Slice(r * dim, dim), gamma, beta, eps);
    }

    /// <summary>LayerNorm over the first <paramref name="rows"/> rows of <paramref name="data"/>, in chunks of rows across the context's threads.</summary>
    public static void Apply(ComputeContext compute, float[] data, int rows, int dim, float[] gamma, float[] beta, float eps)
    {
        if ((long)rows * dim > data.Length) throw new ArgumentException($"{data.Length} values hold fewer than {rows} rows of {dim}", nameof(data));
        if (gamma.Length != dim || beta.Length != dim) throw new ArgumentException($"LayerNorm parameters must have {dim} values");
        const int chunk = 32;
        compute.For((rows + chunk - 1) / chunk, c =>
        {
            int r0 = c * chunk, r1 = Math.Min(rows, r0 + chunk);
            for (int r = r0; r < r1; r++) ApplyRow(data.AsSpan(r * dim, dim), gamma, beta, eps);
        });
    }

    public static void ApplyRow(Span<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps)
    {
        float mean = Reductions.Sum(x) / x.Length;
        TensorPrimitives.Subtract(x, mean, x);
        float variance = Reductions.SumOfSquares(x) / x.Length;
        float inv = 1f / MathF.Sqrt(variance + eps);
        TensorPrimitives.Multiply(x, inv, x);
        TensorPrimitives.MultiplyAdd(x, gamma, beta, x);
    }
}
