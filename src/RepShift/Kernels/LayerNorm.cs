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
