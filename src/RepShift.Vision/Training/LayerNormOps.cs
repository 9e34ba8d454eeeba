using System.Numerics.Tensors;
using RepShift.Kernels;

namespace RepShift.Training;

/// <summary>LayerNorm over rows for training: keeps the normalised rows x̂ and 1/σ for the backward pass.</summary>
public static class LayerNormOps
{
    /// <summary>y = x̂·γ + β with x̂ = (x − μ)/σ; x̂ goes to <paramref name="xhat"/>, 1/σ to <paramref name="rstd"/>.</summary>
    public static void Forward(ComputeContext compute, float[] x, int rows, int dim, float[] gamma, float[] beta, float eps, float[] xhat, float[] rstd, float[] y)
    {
        compute.For((rows + 63) / 64, c =>
        {
            for (int r = c * 64; r < Math.Min(rows, c * 64 + 64); r++)
            {
                var xr = x.AsSpan(r * dim, dim);
                var hr = xhat.AsSpan(r * dim, dim);
                float mean = TensorPrimitives.Sum(xr) / dim;
                TensorPrimitives.Subtract(xr, mean, hr);
                float inv = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(hr) / dim + eps);
                TensorPrimitives.Multiply(hr, inv, hr);
                rstd[r] = inv;
                TensorPrimitives.MultiplyAdd(hr, gamma, beta, y.AsSpan(r * dim, dim));
            }
        });
    }

    /// <summary>
    /// dx = (1/σ)·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·γ, added to <paramref name="dx"/> (the residual
    /// stream's gradient arrives there first); dγ = Σ dy·x̂ and dβ = Σ dy are overwritten.
    /// </summary>
    public static void Backward(ComputeContext compute, float[] dy, float[] xhat, float[] rstd, int rows, int dim, float[] gamma, float[] dx, float[] dgamma, float[] dbeta)
    {
        compute.For((rows + 63) / 64, c =>
        {
            Span<float> g = stackalloc float[dim];
            for (int r = c * 64; r < Math.Min(rows, c * 64 + 64); r++)
            {
                var dyr = dy.AsSpan(r * dim, dim);
                var hr = xhat.AsSpan(r * dim, dim);
                TensorPrimitives.Multiply(dyr, gamma, g);
                float meanG = TensorPrimitives.Sum(g) / dim;
                float meanGx = TensorPrimitives.Dot(g, hr) / dim;
                var dxr = dx.AsSpan(r * dim, dim);
                // dx += rstd·(g − meanG − x̂·meanGx)
                TensorPrimitives.Subtract(g, meanG, g);
                TensorPrimitives.MultiplyAdd(hr, -meanGx, g, g);
                TensorPrimitives.MultiplyAdd(g, rstd[r], dxr, dxr);
            }
        });
        Array.Clear(dgamma, 0, dim);
        Array.Clear(dbeta, 0, dim);
        for (int r = 0; r < rows; r++)
        {
            var dyr = dy.AsSpan(r * dim, dim);
            TensorPrimitives.MultiplyAdd(dyr, xhat.AsSpan(r * dim, dim), dgamma, dgamma);
            TensorPrimitives.Add(dyr, dbeta, dbeta);
        }
    }
}
