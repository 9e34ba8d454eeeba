using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using RepShift.Kernels;

namespace RepShift.Training;

/// <summary>
/// Multi-head self-attention over a batch of equal-length sequences, for training: the probabilities are
/// kept ([batch, heads, S, S]) for the backward pass. Q, K, V come fused as rows of [T, 3D] (head h at
/// columns h·hd of each third); the output and the gradients use the same column layout. Work items are
/// (sequence, head) pairs; rows of S scores are computed against a transposed copy of K (or V), so the
/// inner loops run over S with full vectors.
/// </summary>
public static unsafe class AttentionOps
{
    [ThreadStatic] private static float[]? _transposed;
    [ThreadStatic] private static float[]? _row;

    public static void Forward(ComputeContext compute, float[] qkv, int sequences, int length, int heads, int headDim, float[] probs, float[] output)
    {
        int d = heads * headDim, stride = 3 * d;
        float scale = 1f / MathF.Sqrt(headDim);
        compute.For(sequences * heads, item =>
        {
            int b = item / heads, h = item % heads;
            int padded = (length + 7) & ~7;
            var kt = Scratch(ref _transposed, headDim * padded);
            fixed (float* pqkv = qkv)
            fixed (float* pkt = kt)
            fixed (float* pp = probs)
            fixed (float* po = output)
            {
                float* q0 = pqkv + (long)b * length * stride + h * headDim;
                TransposeHead(q0 + d, stride, length, headDim, pkt, padded);
                float* p = pp + (long)item * length * length;
                for (int i = 0; i < length; i++)
                {
                    float* row = p + (long)i * length;
                    RowTimesTransposed(q0 + (long)i * stride, headDim, pkt, padded, length, scale, row);
                    var span = new Span<float>(row, length);
                    float max = TensorPrimitives.Max(span);
                    TensorPrimitives.Subtract(span, max, span);
                    TensorPrimitives.Exp(span, span);
                    TensorPrimitives.Divide(span, TensorPrimitives.Sum(span), span);
                    float* o = po + ((long)b * length + i) * d + h * headDim;
                    new Span<float>(o, headDim).Clear();
                    float* v = q0 + 2 * d;
                    for (int j = 0; j < length; j++) Axpy(row[j], v + (long)j * stride, o, headDim);
                }
            }
        });
    }

    /// <summary>Gradients of Q, K and V (overwritten in <paramref name="dqkv"/>) from the output gradient <paramref name="dout"/> [T, D].</summary>
    public static void Backward(ComputeContext compute, float[] qkv, float[] probs, float[] dout, int sequences, int length, int heads, int headDim, float[] dqkv)
    {
        int d = heads * headDim, stride = 3 * d;
        float scale = 1f / MathF.Sqrt(headDim);
        compute.For(sequences * heads, item =>
        {
            int b = item / heads, h = item % heads;
            int padded = (length + 7) & ~7;
            var vt = Scratch(ref _transposed, headDim * padded);
            var ds = Scratch(ref _row, padded);
            fixed (float* pqkv = qkv)
            fixed (float* pd = dqkv)
            fixed (float* pvt = vt)
            fixed (float* pds = ds)
            fixed (float* pp = probs)
            fixed (float* pdo = dout)
            {
                long rowBase = (long)b * length;
                float* q0 = pqkv + rowBase * stride + h * headDim;
                float* k0 = q0 + d, v0 = q0 + 2 * d;
                float* dq0 = pd + rowBase * stride + h * headDim;
                float* dk0 = dq0 + d, dv0 = dq0 + 2 * d;
                for (int j = 0; j < length; j++)
                {
                    new Span<float>(dq0 + (long)j * stride, headDim).Clear();
                    new Span<float>(dk0 + (long)j * stride, headDim).Clear();
                    new Span<float>(dv0 + (long)j * stride, headDim).Clear();
                }
                TransposeHead(v0, stride, length, headDim, pvt, padded);
                float* p = pp + (long)item * length * length;
                for (int i = 0; i < length; i++)
                {
                    float* pr = p + (long)i * length;
                    float* dOi = pdo + (rowBase + i) * d + h * headDim;
                    // dV_j += P_ij·dO_i; dP_ij = dO_i·V_j
                    for (int j = 0; j < length; j++) Axpy(pr[j], dOi, dv0 + (long)j * stride, headDim);
                    RowTimesTransposed(dOi, headDim, pvt, padded, length, 1f, pds);
                    // dS_ij = P_ij·(dP_ij − Σ_k P_ik·dP_ik), then the 1/√hd of the scores.
                    var dsSpan = new Span<float>(pds, length);
                    var pSpan = new ReadOnlySpan<float>(pr, length);
                    float dot = TensorPrimitives.Dot(pSpan, dsSpan);
                    TensorPrimitives.Subtract(dsSpan, dot, dsSpan);
                    TensorPrimitives.Multiply(dsSpan, pSpan, dsSpan);
                    TensorPrimitives.Multiply(dsSpan, scale, dsSpan);
                    float* dQi = dq0 + (long)i * stride;
                    float* qi = q0 + (long)i * stride;
                    for (int j = 0; j < length; j++)
                    {
                        float s = pds[j];
                        Axpy(s, k0 + (long)j * stride, dQi, headDim);
                        Axpy(s, qi, dk0 + (long)j * stride, headDim);
                    }
                }
            }
        });
    }

    private static float[] Scratch(ref float[]? a, int n)
    {
        if (a == null || a.Length < n) a = new float[n];
        return a;
    }

    /// <summary>dst[c, r] = src row r (stride <paramref name="stride"/>) column c, rows padded with zeros to <paramref name="padded"/>.</summary>
    private static void TransposeHead(float* src, int stride, int rows, int cols, float* dst, int padded)
    {
        for (int c = 0; c < cols; c++)
        {
            float* d = dst + (long)c * padded;
            for (int r = 0; r < rows; r++) d[r] = src[(long)r * stride + c];
            for (int r = rows; r < padded; r++) d[r] = 0;
        }
    }

    /// <summary>out[j] = scale·Σ_c x[c]·t[c, j] for j below <paramref name="length"/> (t has rows of <paramref name="padded"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowTimesTransposed(float* x, int cols, float* t, int padded, int length, float scale, float* output)
    {
        float* acc = stackalloc float[padded];
        new Span<float>(acc, padded).Clear();
        for (int c = 0; c < cols; c++)
        {
            var xc = Vector256.Create(x[c]);
            float* tr = t + (long)c * padded;
            for (int j = 0; j < padded; j += 8)
                Vector256.Store(Vector256.FusedMultiplyAdd(xc, Vector256.Load(tr + j), Vector256.Load(acc + j)), acc + j);
        }
        for (int j = 0; j < length; j++) output[j] = acc[j] * scale;
    }

    /// <summary>y += a·x over n floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Axpy(float a, float* x, float* y, int n)
    {
        int i = 0;
        var av = Vector256.Create(a);
        for (; i <= n - 8; i += 8) Vector256.Store(Vector256.FusedMultiplyAdd(av, Vector256.Load(x + i), Vector256.Load(y + i)), y + i);
        for (; i < n; i++) y[i] += a * x[i];
    }
}
