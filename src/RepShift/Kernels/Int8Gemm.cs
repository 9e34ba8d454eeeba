using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RepShift.Kernels;

/// <summary>
/// C[M, N] = act(dequant(A_q · B_q) + bias (+ residual)): the int8 counterpart of <see cref="Gemm.Multiply"/>
/// with the same arguments but a <see cref="PackedInt8Matrix"/>. Each row of A is quantized symmetric per
/// token into a scratch the context reuses (stored q + 128, unsigned), the micro-kernel accumulates
/// Σₖ (a_q + 128)·b_q in int32, and the epilogue subtracts 128·Σₖ b_q, scales by s_a[m]·s_b[n] and applies
/// bias, residual and GELU in fp32 while the tile is in registers. Work is split into (row block × panel
/// group) items as in the fp32 GEMM. The int32 sums are exact in every kernel, so the kernels agree bit for bit.
/// </summary>
public static unsafe class Int8Gemm
{
    private const int MR = 6;
    private const int NR = PackedInt8Matrix.PanelWidth;
    private const int RowTilesPerJob = 8;
    private const int PanelsPerJob = 4;
    private const int QuantizeRowsPerJob = 32;

    /// <summary>Whether this machine runs any int8 kernel (all need AVX2).</summary>
    public static bool Supported => Avx2.IsSupported;

    public static void Multiply(ComputeContext compute, ReadOnlySpan<float> a, int m, PackedInt8Matrix b, ReadOnlySpan<float> bias, Span<float> c,
        Activation activation = Activation.None, ReadOnlySpan<float> residual = default)
    {
        int k = b.Rows, n = b.Cols;
        if (m < 0) throw new ArgumentOutOfRangeException(nameof(m));
        if (a.Length < (long)m * k) throw new ArgumentException($"A has {a.Length} values, [{m}, {k}] needs {(long)m * k}", nameof(a));
        if (c.Length < (long)m * n) throw new ArgumentException($"C has {c.Length} values, [{m}, {n}] needs {(long)m * n}", nameof(c));
        if (!bias.IsEmpty && bias.Length != n) throw new ArgumentException($"bias has {bias.Length} values, expected {n}", nameof(bias));
        if (!residual.IsEmpty && residual.Length < (long)m * n) throw new ArgumentException($"residual has {residual.Length} values, [{m}, {n}] needs {(long)m * n}", nameof(residual));
        if (activation != Activation.None && !residual.IsEmpty) throw new ArgumentException("residual and activation cannot be combined");
        if (!Supported) throw new PlatformNotSupportedException("int8 precision needs AVX2, which this CPU (or runtime) lacks");
        if (m == 0) return;

        int kp = b.PaddedRows;
        var scratch = compute.Int8Scratch.Rent(compute, checked(m * kp), m);
        try
        {
            Quantize(compute, a, m, k, kp, scratch);
            fixed (byte* pa = scratch.Quantized)
            fixed (float* psa = scratch.RowScales)
            fixed (sbyte* pb = b.Data)
            fixed (float* psb = b.Scales)
            fixed (int* poff = b.Offsets)
            fixed (float* pbias = bias)
            fixed (float* pc = c)
            fixed (float* pres = residual)
            {
                var job = new Job(pa, psa, pb, psb, poff, bias.IsEmpty ? null : pbias, pc, residual.IsEmpty ? null : pres, m, kp, n, b.Panels, activation, compute.Int8Kernel);
                int rowJobs = (m + MR * RowTilesPerJob - 1) / (MR * RowTilesPerJob);
                int panelJobs = (b.Panels + PanelsPerJob - 1) / PanelsPerJob;
                compute.For(rowJobs * panelJobs, i => job.Run(i / panelJobs, i % panelJobs));
            }
        }
        finally { compute.Int8Scratch.Return(compute, scratch); }
    }

    /// <summary>
    /// The exact integer product Σₖ A_q[m, k]·B_q[k, n] of already quantized activations (q + 128 per row, row
    /// stride K rounded up to 4) with the context's kernel: what the tests compare with a scalar reference.
    /// </summary>
    internal static void MultiplyIntegers(ComputeContext compute, ReadOnlySpan<byte> aOffset, int m, PackedInt8Matrix b, Span<int> c)
    {
        int kp = b.PaddedRows, n = b.Cols;
        if (aOffset.Length < (long)m * kp) throw new ArgumentException($"A has {aOffset.Length} bytes, [{m}, {kp}] needs {(long)m * kp}");
        if (c.Length < (long)m * n) throw new ArgumentException($"C has {c.Length} values, [{m}, {n}] needs {(long)m * n}");
        if (!Supported) throw new PlatformNotSupportedException("int8 precision needs AVX2, which this CPU (or runtime) lacks");
        int* tile = stackalloc int[MR * NR];
        fixed (byte* pa = aOffset)
        fixed (sbyte* pb = b.Data)
            for (int p = 0; p < b.Panels; p++)
                for (int r = 0; r < m; r += MR)
                {
                    int rows = Math.Min(MR, m - r), col = p * NR, cols = Math.Min(NR, n - col);
                    Accumulate(compute.Int8Kernel, pa + (long)r * kp, kp, pb + (long)p * kp * NR, tile, rows);
                    for (int i = 0; i < rows; i++)
                        for (int j = 0; j < cols; j++) c[(r + i) * n + col + j] = tile[i * NR + j] - b.Offsets[col + j];
                }
    }

    private static void Quantize(ComputeContext compute, ReadOnlySpan<float> a, int m, int k, int kp, Int8Scratch scratch)
    {
        fixed (float* pa = a)
        {
            float* src = pa;
            var q = scratch.Quantized;
            var scales = scratch.RowScales;
            compute.For((m + QuantizeRowsPerJob - 1) / QuantizeRowsPerJob, job =>
            {
                int r1 = Math.Min(m, (job + 1) * QuantizeRowsPerJob);
                for (int r = job * QuantizeRowsPerJob; r < r1; r++)
                    scales[r] = Int8Quantizer.QuantizeRow(new ReadOnlySpan<float>(src + (long)r * k, k), q.AsSpan(r * kp, kp));
            });
        }
    }

    private readonly struct Job(byte* a, float* aScales, sbyte* b, float* bScales, int* offsets, float* bias, float* c, float* residual,
        int m, int kp, int n, int panels, Activation activation, Int8Kernel kernel)
    {
        public void Run(int rowJob, int panelJob)
        {
            int r0 = rowJob * MR * RowTilesPerJob, r1 = Math.Min(m, r0 + MR * RowTilesPerJob);
            int p0 = panelJob * PanelsPerJob, p1 = Math.Min(panels, p0 + PanelsPerJob);
            int* tile = stackalloc int[MR * NR];
            float* biasPad = stackalloc float[NR];
            for (int p = p0; p < p1; p++)
            {
                sbyte* panel = b + (long)p * kp * NR;
                int col = p * NR, cols = Math.Min(NR, n - col);
                new Span<float>(biasPad, NR).Clear();
                if (bias != null) new ReadOnlySpan<float>(bias + col, cols).CopyTo(new Span<float>(biasPad, NR));
                for (int r = r0; r < r1; r += MR)
                {
                    int rows = Math.Min(MR, r1 - r);
                    Accumulate(kernel, a + (long)r * kp, kp, panel, tile, rows);
                    Finish(tile, rows, cols, aScales + r, bScales + col, offsets + col, biasPad,
                        residual == null ? null : residual + (long)r * n + col, c + (long)r * n + col, n, activation);
                }
            }
        }
    }

    private static void Accumulate(Int8Kernel kernel, byte* a, int kp, sbyte* panel, int* tile, int rows)
    {
        if (kernel == Int8Kernel.AvxVnni) AccumulateVnni(a, kp, panel, tile, rows);
        else AccumulateAvx2(a, kp, panel, tile, rows);
    }

    /// <summary>
    /// The 6×16 VPDPBUSD kernel: per group of four k, two B loads (16 columns × 4 bytes), six 4-byte
    /// broadcasts of A and 12 dot-product accumulations; 15 of the 16 VEX-addressable registers. Rows past
    /// <paramref name="rows"/> alias the last real row.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void AccumulateVnni(byte* a, int kp, sbyte* panel, int* tile, int rows)
    {
        byte* a0 = a, a1 = rows > 1 ? a + kp : a0, a2 = rows > 2 ? a + 2 * kp : a1;
        byte* a3 = rows > 3 ? a + 3 * kp : a2, a4 = rows > 4 ? a + 4 * kp : a3, a5 = rows > 5 ? a + 5 * kp : a4;
        Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<int> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        sbyte* bp = panel;
        for (int p = 0; p < kp; p += 4, bp += 4 * NR)
        {
            var b0 = Vector256.Load(bp);
            var b1 = Vector256.Load(bp + 32);
            var x = Vector256.Create(*(int*)(a0 + p)).AsByte(); c00 = AvxVnni.MultiplyWideningAndAdd(c00, x, b0); c01 = AvxVnni.MultiplyWideningAndAdd(c01, x, b1);
            x = Vector256.Create(*(int*)(a1 + p)).AsByte(); c10 = AvxVnni.MultiplyWideningAndAdd(c10, x, b0); c11 = AvxVnni.MultiplyWideningAndAdd(c11, x, b1);
            x = Vector256.Create(*(int*)(a2 + p)).AsByte(); c20 = AvxVnni.MultiplyWideningAndAdd(c20, x, b0); c21 = AvxVnni.MultiplyWideningAndAdd(c21, x, b1);
            x = Vector256.Create(*(int*)(a3 + p)).AsByte(); c30 = AvxVnni.MultiplyWideningAndAdd(c30, x, b0); c31 = AvxVnni.MultiplyWideningAndAdd(c31, x, b1);
            x = Vector256.Create(*(int*)(a4 + p)).AsByte(); c40 = AvxVnni.MultiplyWideningAndAdd(c40, x, b0); c41 = AvxVnni.MultiplyWideningAndAdd(c41, x, b1);
            x = Vector256.Create(*(int*)(a5 + p)).AsByte(); c50 = AvxVnni.MultiplyWideningAndAdd(c50, x, b0); c51 = AvxVnni.MultiplyWideningAndAdd(c51, x, b1);
        }
        c00.Store(tile); c01.Store(tile + 8);
        c10.Store(tile + 16); c11.Store(tile + 24);
        c20.Store(tile + 32); c21.Store(tile + 40);
        c30.Store(tile + 48); c31.Store(tile + 56);
        c40.Store(tile + 64); c41.Store(tile + 72);
        c50.Store(tile + 80); c51.Store(tile + 88);
    }

    /// <summary>
    /// The AVX2 kernel without VNNI. vpmaddubsw (u8×s8 pairs summed into s16) would saturate: 2·255·127 = 64770
    /// &gt; 32767. Instead both operands are widened to 16 bits (A zero-extended, B sign-extended) and vpmaddwd
    /// sums pairs into int32, exactly. Each int32 lane then holds half of one column's four products; the
    /// halves are added at the end. Two rows at a time (8 accumulators, 4 widened B vectors), three passes per tile.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void AccumulateAvx2(byte* a, int kp, sbyte* panel, int* tile, int rows)
    {
        for (int i = 0; i < MR; i += 2)
        {
            byte* a0 = a + (long)Math.Min(i, rows - 1) * kp, a1 = a + (long)Math.Min(i + 1, rows - 1) * kp;
            Vector256<int> c00 = default, c01 = default, c02 = default, c03 = default;
            Vector256<int> c10 = default, c11 = default, c12 = default, c13 = default;
            sbyte* bp = panel;
            for (int p = 0; p < kp; p += 4, bp += 4 * NR)
            {
                // Columns 4j..4j+3, their four k each, as 16 signed shorts.
                var b0 = Avx2.ConvertToVector256Int16(Vector128.Load(bp));
                var b1 = Avx2.ConvertToVector256Int16(Vector128.Load(bp + 16));
                var b2 = Avx2.ConvertToVector256Int16(Vector128.Load(bp + 32));
                var b3 = Avx2.ConvertToVector256Int16(Vector128.Load(bp + 48));
                // A's four bytes as four unsigned shorts, repeated across the register.
                var x = Avx2.BroadcastScalarToVector256(Sse41.ConvertToVector128Int16(Vector128.CreateScalarUnsafe(*(uint*)(a0 + p)).AsByte()).AsUInt64()).AsInt16();
                c00 += Avx2.MultiplyAddAdjacent(x, b0); c01 += Avx2.MultiplyAddAdjacent(x, b1);
                c02 += Avx2.MultiplyAddAdjacent(x, b2); c03 += Avx2.MultiplyAddAdjacent(x, b3);
                x = Avx2.BroadcastScalarToVector256(Sse41.ConvertToVector128Int16(Vector128.CreateScalarUnsafe(*(uint*)(a1 + p)).AsByte()).AsUInt64()).AsInt16();
                c10 += Avx2.MultiplyAddAdjacent(x, b0); c11 += Avx2.MultiplyAddAdjacent(x, b1);
                c12 += Avx2.MultiplyAddAdjacent(x, b2); c13 += Avx2.MultiplyAddAdjacent(x, b3);
            }
            StorePairs(c00, c01, tile + i * NR);
            StorePairs(c02, c03, tile + i * NR + 8);
            StorePairs(c10, c11, tile + (i + 1) * NR);
            StorePairs(c12, c13, tile + (i + 1) * NR + 8);
        }
    }

    /// <summary>Adds the two halves of each column: lo holds columns 0–3 as pairs, hi columns 4–7; stores the 8 sums in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePairs(Vector256<int> lo, Vector256<int> hi, int* dst)
    {
        // hadd gives [c0 c1 c4 c5 | c2 c3 c6 c7]; the 64-bit permute puts them in order.
        var sums = Avx2.HorizontalAdd(lo, hi);
        Avx2.Permute4x64(sums.AsInt64(), 0b11_01_10_00).AsInt32().Store(dst);
    }

    /// <summary>Epilogue of one tile: (acc − 128·Σb)·s_a·s_b + bias (+ residual), activation; stores the valid rows × cols.</summary>
    private static void Finish(int* tile, int rows, int cols, float* aScales, float* bScales, int* offsets, float* bias, float* residual, float* c, int ldc, Activation activation)
    {
        float* pad = stackalloc float[NR];
        var o0 = Vector256.Load(offsets);
        var o1 = Vector256.Load(offsets + 8);
        var s0 = Vector256.Load(bScales);
        var s1 = Vector256.Load(bScales + 8);
        var b0 = Vector256.Load(bias);
        var b1 = Vector256.Load(bias + 8);
        for (int i = 0; i < rows; i++)
        {
            var sa = Vector256.Create(aScales[i]);
            var lo = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Vector256.Load(tile + i * NR) - o0), sa * s0, b0);
            var hi = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(Vector256.Load(tile + i * NR + 8) - o1), sa * s1, b1);
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
