using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace RepShift.Kernels;

/// <summary>
/// C[M, N] = act(A[M, K] · B[K, N] + bias (+ residual)) with B packed at load time.
/// A register-blocked 6×16 micro-kernel (12 Vector256 accumulators) walks one B panel per tile; the
/// epilogue (bias, residual, GELU) is applied while the tile is in registers. Work is split into
/// (row block × panel group) items across <see cref="Parallelism"/>.
/// </summary>
public static unsafe class Gemm
{
    private const int MR = 6;
    private const int NR = PackedMatrix.PanelWidth;
    private const int RowTilesPerJob = 8;
    private const int PanelsPerJob = 4;

    public static void Multiply(ReadOnlySpan<float> a, int m, PackedMatrix b, ReadOnlySpan<float> bias, Span<float> c,
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
            var job = new Job(pa, pb, bias.IsEmpty ? null : pbias, pc, residual.IsEmpty ? null : pres, m, k, n, b.Panels, activation);
            int rowJobs = (m + MR * RowTilesPerJob - 1) / (MR * RowTilesPerJob);
            int panelJobs = (b.Panels + PanelsPerJob - 1) / PanelsPerJob;
            Parallelism.For(rowJobs * panelJobs, i => job.Run(i / panelJobs, i % panelJobs));
        }
    }

    private readonly struct Job(float* a, float* b, float* bias, float* c, float* residual, int m, int k, int n, int panels, Activation activation)
    {
        public void Run(int rowJob, int panelJob)
        {
            int r0 = rowJob * MR * RowTilesPerJob, r1 = Math.Min(m, r0 + MR * RowTilesPerJob);
            int p0 = panelJob * PanelsPerJob, p1 = Math.Min(panels, p0 + PanelsPerJob);
            float* tile = stackalloc float[MR * NR];
            for (int p = p0; p < p1; p++)
            {
                float* panel = b + (long)p * k * NR;
                int col = p * NR, cols = Math.Min(NR, n - col);
                for (int r = r0; r < r1; r += MR)
                {
                    int rows = Math.Min(MR, r1 - r);
                    if (rows == MR && cols == NR)
                        Kernel(a + (long)r * k, k, panel, c + (long)r * n + col, n, bias == null ? null : bias + col, residual == null ? null : residual + (long)r * n + col, activation, MR);
                    else
                        Edge(r, rows, col, cols, panel, tile);
                }
            }
        }

        /// <summary>
        /// A partial tile: padded copies of bias and residual go through the same vector kernel and
        /// epilogue as full tiles, so a row's result never depends on where it falls in the batch.
        /// </summary>
        private void Edge(int r, int rows, int col, int cols, float* panel, float* tile)
        {
            float* biasPad = stackalloc float[NR];
            float* residualPad = stackalloc float[MR * NR];
            new Span<float>(biasPad, NR).Clear();
            if (bias != null) new ReadOnlySpan<float>(bias + col, cols).CopyTo(new Span<float>(biasPad, NR));
            if (residual != null)
            {
                new Span<float>(residualPad, MR * NR).Clear();
                for (int i = 0; i < rows; i++)
                    new ReadOnlySpan<float>(residual + (long)(r + i) * n + col, cols).CopyTo(new Span<float>(residualPad + i * NR, NR));
            }
            // Rows past the end alias the last real row so the kernel reads only valid memory.
            Kernel(a + (long)r * k, k, panel, tile, NR, biasPad, residual == null ? null : residualPad, activation, rows);
            for (int i = 0; i < rows; i++)
                new ReadOnlySpan<float>(tile + i * NR, cols).CopyTo(new Span<float>(c + (long)(r + i) * n + col, cols));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel(float* a, int k, float* panel, float* c, int ldc, float* bias, float* residual, Activation activation, int rows)
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
        Store(c, ldc, 0, c00, c01, bias, residual, activation);
        Store(c, ldc, 1, c10, c11, bias, residual, activation);
        Store(c, ldc, 2, c20, c21, bias, residual, activation);
        Store(c, ldc, 3, c30, c31, bias, residual, activation);
        Store(c, ldc, 4, c40, c41, bias, residual, activation);
        Store(c, ldc, 5, c50, c51, bias, residual, activation);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, int ldc, int row, Vector256<float> lo, Vector256<float> hi, float* bias, float* residual, Activation activation)
    {
        if (bias != null) { lo += Vector256.Load(bias); hi += Vector256.Load(bias + 8); }
        if (residual != null) { lo += Vector256.Load(residual + (long)row * ldc); hi += Vector256.Load(residual + (long)row * ldc + 8); }
        if (activation == Activation.Gelu) { lo = Activations.Gelu(lo); hi = Activations.Gelu(hi); }
        Vector256.Store(lo, c + (long)row * ldc);
        Vector256.Store(hi, c + (long)row * ldc + 8);
    }
}
