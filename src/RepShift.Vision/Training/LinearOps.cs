using System.Numerics.Tensors;
using RepShift.Kernels;

namespace RepShift.Training;

/// <summary>
/// Y = X·W + b and its gradients, all on the inference GEMM: W [K, N] is packed once per step (cheap next
/// to the T·K·N multiply), dX = dY·Wᵀ packs Wᵀ, and dW = Xᵀ·dY runs the GEMM with the batch as the
/// shared dimension (Xᵀ copied row-major, dY packed as the B operand).
/// </summary>
public static class LinearOps
{
    public static void Forward(ComputeContext compute, ReadOnlySpan<float> x, int rows, float[] w, int k, int n, ReadOnlySpan<float> bias, Span<float> y,
        Activation activation = Activation.None, ReadOnlySpan<float> residual = default) =>
        Gemm.Multiply(compute, x, rows, PackedMatrix.Pack(w, k, n), bias, y, activation, residual);

    /// <summary>
    /// Given dY [rows, N]: dW = Xᵀ·dY and db = Σ dY (both overwritten), and, when <paramref name="dx"/> is not
    /// empty, dX = dY·Wᵀ (+ dX when <paramref name="accumulate"/>, for a residual stream's gradient).
    /// <paramref name="scratch"/> holds Xᵀ and needs rows·K values.
    /// </summary>
    public static void Backward(ComputeContext compute, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, int rows, float[] w, int k, int n,
        float[] dw, float[] db, Span<float> dx, bool accumulate, float[] scratch)
    {
        if (!dx.IsEmpty)
        {
            var wt = PackedMatrix.PackTransposed(w, k, n);
            if (accumulate) Gemm.Multiply(compute, dy, rows, wt, default, dx, residual: dx);
            else Gemm.Multiply(compute, dy, rows, wt, default, dx);
        }
        Transpose.Into(x, rows, k, scratch);
        Gemm.Multiply(compute, scratch.AsSpan(0, rows * k), k, PackedMatrix.Pack(dy[..(rows * n)], rows, n), default, dw);
        ColumnSums(dy, rows, n, db);
    }

    public static void ColumnSums(ReadOnlySpan<float> m, int rows, int cols, Span<float> sums)
    {
        sums[..cols].Clear();
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(sums[..cols], m.Slice(r * cols, cols), sums[..cols]);
    }
}
