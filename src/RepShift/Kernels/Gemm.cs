using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace RepShift.Kernels;

/// <summary>
/// C[M, N] = act(A[M, K] · B[K, N] + bias (+ residual)) with B packed at load time.
/// A register-blocked 6×16 micro-kernel (12 Vector256 accumulators) walks one B panel per tile; the
/// epilogue (bias, residual, GELU) is applied while the tile is in registers. Work is split into
/// (row block × panel group) items across the <see cref="ComputeContext"/>'s threads. With the context's
/// <see cref="GemmKernel.Avx512"/> a 12×32 kernel over two panels at once takes the full panel pairs
/// (Gemm.Avx512.cs); both kernels add the
/// products of each output in the same order, so their results are bit-identical.
/// </summary>
public static unsafe partial class Gemm
{
    private const int MR = 6;
    private const int NR = PackedMatrix.PanelWidth;
    private const int RowTilesPerJob = 8;
    private const int PanelsPerJob = 4;

    public static void Multiply(ComputeContext compute, ReadOnlySpan<float> a, int m, PackedMatrix b, ReadOnlySpan<float> bias, Span<float> c,
        Activation activation = Activation.None, ReadOnlySpan<float> residual = default)
    {
        int k = b.Rows, n = b.Cols;
        if (m < 0) throw new ArgumentOutOfRangeException(nameof(m));
        if (a.Length < (long)m * k) throw new ArgumentException($"A has {a.Length} values, [{m}, {k}] needs {(long)m * k}", nameof(a));
        if (c.Length < (long)m * n) throw new ArgumentException($"C has {c.Length} values, [{m}, {n}] needs {(long)m * n}", nameof(c));
        if (!bias.IsEmpty && bias.Length != n) throw new ArgumentException($"bias has {bias.Length} values, expected {n}", nameof(bias));
        if (!residual.IsEmpty && residual.Length < (long)m * n) throw new ArgumentException($"residual has {residual.Length} values, [{m}, {n}] needs {(long)m * n}", nameof(residual));
        if (activation != Activation.None && !residual.IsEmpty) throw new ArgumentException("residual and activation cannot be combined");
        if (m == 0) return;

        fixed (float* pa = a)
        fixed (float* pb = b.Data)
        fixed (float* pbias = bias)
        fixed (float* pc = c)
        fixed (float* pres = residual)
        {
            var job = new Job(pa, pb, bias.IsEmpty ? null : pbias, pc, residual.IsEmpty ? null : pres, m, k, n, b.Panels, activation, compute.Kernel == GemmKernel.Avx512);
            int rowJobs = (m + MR * RowTilesPerJob - 1) / (MR * RowTilesPerJob);
            int panelJobs = (b.Panels + PanelsPerJob - 1) / PanelsPerJob;
            compute.For(rowJobs * panelJobs, i => job.Run(i / panelJobs, i % panelJobs));
        }
    }

    private readonly struct Job(float* a, float* b, float* bias, float* c, float* residual, int m, int k, int n, int panels, Activation activation, bool avx512)
    {
        public void Run(int rowJob, int panelJob)
        {
            int r0 = rowJob * MR * RowTilesPerJob, r1 = Math.Min(m, r0 + MR * RowTilesPerJob);
            int p0 = panelJob * PanelsPerJob, p1 = Math.Min(panels, p0 + PanelsPerJob);
            float* tile = stackalloc float[MR * NR];
            float* biasPad = stackalloc float[2 * NR];
            int p = p0;
            if (avx512)
                for (; p + 1 < p1; p += 2) RunPair(p, r0, r1, biasPad);
            for (; p < p1; p++)
            {
                float* panel = b + (long)p * k * NR;
                int col = p * NR, cols = Math.Min(NR, n - col);
                PadBias(bias, col, cols, biasPad);
                for (int r = r0; r < r1; r += MR)
                {
                    int rows = Math.Min(MR, r1 - r);
                    Accumulate(a + (long)r * k, k, panel, tile, rows);
                    Finish(tile, rows, cols, biasPad, residual == null ? null : residual + (long)r * n + col, c + (long)r * n + col, n, activation);
                }
            }
        }

        /// <summary>Panels p and p + 1 (both full width but the second possibly the last) with the 12×32 AVX-512 kernel.</summary>
        private void RunPair(int p, int r0, int r1, float* biasPad)
        {
            float* tile = stackalloc float[MR512 * 2 * NR];
            float* panel = b + (long)p * k * NR;
            int col = p * NR, cols1 = Math.Min(NR, n - col - NR);
            PadBias(bias, col, NR, biasPad);
            PadBias(bias, col + NR, cols1, biasPad + NR);
            for (int r = r0; r < r1; r += MR512)
            {
                int rows = Math.Min(MR512, r1 - r);
                Accumulate512(a + (long)r * k, k, panel, panel + (long)k * NR, tile, rows);
                float* res = residual == null ? null : residual + (long)r * n + col;
                Finish(tile, rows, NR, biasPad, res, c + (long)r * n + col, n, activation);
                Finish(tile + MR512 * NR, rows, cols1, biasPad + NR, res == null ? null : res + NR, c + (long)r * n + col + NR, n, activation);
            }
        }

        /// <summary>Bias padded to the panel width so partial panels take the same vector path as full ones.</summary>
        private static void PadBias(float* bias, int col, int cols, float* pad)
        {
            new Span<float>(pad, NR).Clear();
            if (bias != null) new ReadOnlySpan<float>(bias + col, cols).CopyTo(new Span<float>(pad, NR));
        }
    }

    /// <summary>
    /// The 6×16 micro-kernel: 12 accumulators, two B loads and six broadcasts per k. It does nothing
    /// but the loop and one store of the tile, so the JIT keeps all accumulators in registers (with the
    /// epilogue inlined here it spilled them every iteration). Rows past <paramref name="rows"/> alias
    /// the last real row so only valid memory is read.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Accumulate(float* a, int k, float* panel, float* tile, int rows)
    {
        float* a0 = a, a1 = rows > 1 ? a + k : a0, a2 = rows > 2 ? a + 2 * k : a1;
        float* a3 = rows > 3 ? a + 3 * k : a2, a4 = rows > 4 ? a + 4 * k : a3, a5 = rows > 5 ? a + 5 * k : a4;
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        float* bp = panel;
        for (int p = 0; p < k; p++, bp += NR)
        {
            var b0 = Vector256.Load(bp);
            var b1 = Vector256.Load(bp + 8);
            var x = Vector256.Create(a0[p]); c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(a1[p]); c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(a2[p]); c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(a3[p]); c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
            x = Vector256.Create(a4[p]); c40 = Vector256.FusedMultiplyAdd(x, b0, c40); c41 = Vector256.FusedMultiplyAdd(x, b1, c41);
            x = Vector256.Create(a5[p]); c50 = Vector256.FusedMultiplyAdd(x, b0, c50); c51 = Vector256.FusedMultiplyAdd(x, b1, c51);
        }
        Vector256.Store(c00, tile); Vector256.Store(c01, tile + 8);
        Vector256.Store(c10, tile + 16); Vector256.Store(c11, tile + 24);
        Vector256.Store(c20, tile + 32); Vector256.Store(c21, tile + 40);
        Vector256.Store(c30, tile + 48); Vector256.Store(c31, tile + 56);
        Vector256.Store(c40, tile + 64); Vector256.Store(c41, tile + 72);
        Vector256.Store(c50, tile + 80); Vector256.Store(c51, tile + 88);
    }

    /// <summary>Epilogue of one tile: + bias (+ residual), activation, store the valid rows × cols into C.</summary>
    private static void Finish(float* tile, int rows, int cols, float* bias, float* residual, float* c, int ldc, Activation activation)
    {
        float* pad = stackalloc float[NR];
        var b0 = Vector256.Load(bias);
        var b1 = Vector256.Load(bias + 8);
        for (int i = 0; i < rows; i++)
        {
            var lo = Vector256.Load(tile + i * NR) + b0;
            var hi = Vector256.Load(tile + i * NR + 8) + b1;
            if (residual != null)
            {
                float* res = residual + (long)i * ldc;
                if (cols < NR)
                {
                    new Span<float>(pad, NR).Clear();
                    new ReadOnlySpan<float>(res, cols).CopyTo(new Span<float>(pad, NR));
                    res = pad;
                }
                lo += Vector256.Load(res);
                hi += Vector256.Load(res + 8);
            }
            if (activation == Activation.Gelu)
            {
                lo = Activations.Gelu(lo);
                hi = Activations.Gelu(hi);
            }
            float* dst = c + (long)i * ldc;
            if (cols == NR)
            {
                Vector256.Store(lo, dst);
                Vector256.Store(hi, dst + 8);
            }
            else
            {
                Vector256.Store(lo, pad);
                Vector256.Store(hi, pad + 8);
                new ReadOnlySpan<float>(pad, cols).CopyTo(new Span<float>(dst, cols));
            }
        }
    }
}
