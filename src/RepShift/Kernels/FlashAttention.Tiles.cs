using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RepShift.Kernels;

public static unsafe partial class FlashAttention
{
    private readonly partial struct Job
    {
        /// <summary>Copies query rows into scratch, pre-multiplied by scale·log2 e; padding rows are zero.</summary>
        private void LoadQueries<TD>(float* dst, float* src, int rows, int rowsPadded) where TD : struct, IHeadDim
        {
            int d = TD.Value != 0 ? TD.Value : HeadDim;
            var scale = Vector256.Create(QueryScale);
            for (int i = 0; i < rows; i++)
            {
                float* s = src + (long)i * InputStride, t = dst + i * d;
                int c = 0;
                for (; c + 8 <= d; c += 8) Vector256.Store(Vector256.Load(s + c) * scale, t + c);
                for (; c < d; c++) t[c] = s[c] * QueryScale;
            }
            new Span<float>(dst + rows * d, (rowsPadded - rows) * d).Clear();
        }

        /// <summary>
        /// Transposes a key block into panels of 16 keys, [kp/16][d][16], so the score kernel reads 16 keys
        /// of one dimension as two vectors. Padding keys (kn..kp) repeat the last real key, which keeps every
        /// read inside the input; their bias is −∞, so their scores are −∞ and their weights exactly 0.
        /// </summary>
        private void PackKeys<TD>(FlashScratch sc, float* src, int kn, int kp, float* bias) where TD : struct, IHeadDim
        {
            int d = TD.Value != 0 ? TD.Value : HeadDim;
            float** rows = stackalloc float*[8];
            for (int j = 0; j < kp; j += 8)
            {
                for (int r = 0; r < 8; r++) rows[r] = src + (long)Math.Min(j + r, kn - 1) * InputStride;
                float* dst = sc.KPanels + (j / TileCols) * d * TileCols + (j % TileCols);
                int c = 0;
                // An 8×8 in-register transpose per group of eight dimensions, scalar for the rest.
                if (Avx.IsSupported)
                    for (; c + 8 <= d; c += 8) Transpose8(rows, c, dst + c * TileCols, TileCols);
                for (; c < d; c++)
                    for (int r = 0; r < 8; r++) dst[c * TileCols + r] = rows[r][c];
            }
            int jb = 0;
            for (; jb < kn; jb++) sc.KBias[jb] = bias == null ? 0 : bias[jb] * Log2E;
            for (; jb < kp; jb++) sc.KBias[jb] = float.NegativeInfinity;
        }

        /// <summary>Copies a value block into contiguous rows of stride dp (columns past d zero), so odd head dims need no edge code.</summary>
        private void PackValues<TD>(FlashScratch sc, float* src, int kn) where TD : struct, IHeadDim
        {
            int d = TD.Value != 0 ? TD.Value : HeadDim;
            int dp = PaddedDim(d);
            for (int j = 0; j < kn; j++)
            {
                float* s = src + (long)j * InputStride, t = sc.V + j * dp;
                int c = 0;
                for (; c + 8 <= d; c += 8) Vector256.Store(Vector256.Load(s + c), t + c);
                for (; c < d; c++) t[c] = s[c];
                for (; c < dp; c++) t[c] = 0;
            }
        }

        /// <summary>S[rowsPadded, kp] = q·Kᵀ + bias, panel by panel so each 16-key panel stays in L1 across row tiles.</summary>
        private void Scores<TD>(FlashScratch sc, float* q, int rowsPadded, int kp) where TD : struct, IHeadDim
        {
            int d = TD.Value != 0 ? TD.Value : HeadDim;
            for (int p = 0; p < kp; p += TileCols)
            {
                float* panel = sc.KPanels + p * d;
                for (int r = 0; r < rowsPadded; r += TileRows)
                    ScoreTile(q + r * d, d, panel, sc.KBias + p, sc.S + r * kp + p, kp);
            }
        }

        /// <summary>o[rowsPadded, dp] += P[:, :kn]·V[:kn, :], one 6×16 output tile at a time.</summary>
        private void AccumulateValues<TD>(FlashScratch sc, float* o, int rowsPadded, int kn, int kp) where TD : struct, IHeadDim
        {
            int d = TD.Value != 0 ? TD.Value : HeadDim;
            int dp = PaddedDim(d);
            for (int c = 0; c < dp; c += TileCols)
                for (int r = 0; r < rowsPadded; r += TileRows)
                    ValueTile(sc.S + r * kp, kp, sc.V + c, dp, kn, o + r * dp + c, dp);
        }
    }

    /// <summary>
    /// Turns a block of scores into probabilities relative to each row's running maximum, updates the
    /// running sums, and rescales the accumulator rows whose maximum grew. Padding rows are zeroed so
    /// the value kernel multiplies clean numbers.
    /// </summary>
    private static void OnlineSoftmax(float* scores, int rows, int rowsPadded, int kp, float* rowMax, float* rowSum, float* output, int dp)
    {
        for (int i = 0; i < rows; i++)
        {
            float* s = scores + i * kp;
            var mv = Vector256.Create(float.NegativeInfinity);
            for (int j = 0; j < kp; j += 8) mv = Vector256.Max(mv, Vector256.Load(s + j));
            float old = rowMax[i];
            float max = Math.Max(old, HorizontalMax(mv));
            if (float.IsNegativeInfinity(max))
            {
                // Every key so far is masked (bias −∞): nothing to add, and −∞ − −∞ must not make NaNs.
                new Span<float>(s, kp).Clear();
                continue;
            }
            var m = Vector256.Create(max);
            var sum0 = Vector256<float>.Zero;
            var sum1 = Vector256<float>.Zero;
            for (int j = 0; j < kp; j += 16)
            {
                var e0 = VectorExp.Exp2(Vector256.Load(s + j) - m);
                var e1 = VectorExp.Exp2(Vector256.Load(s + j + 8) - m);
                Vector256.Store(e0, s + j);
                Vector256.Store(e1, s + j + 8);
                sum0 += e0;
                sum1 += e1;
            }
            float alpha = old == max ? 1f : float.Exp2(old - max);
            rowSum[i] = rowSum[i] * alpha + Vector256.Sum(sum0 + sum1);
            rowMax[i] = max;
            if (alpha != 1f)
            {
                float* o = output + i * dp;
                var a = Vector256.Create(alpha);
                for (int c = 0; c < dp; c += 8) Vector256.Store(Vector256.Load(o + c) * a, o + c);
            }
        }
        new Span<float>(scores + rows * kp, (rowsPadded - rows) * kp).Clear();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalMax(Vector256<float> v)
    {
        var h = Vector128.Max(v.GetLower(), v.GetUpper());
        h = Vector128.Max(h, Vector128.Shuffle(h, Vector128.Create(2, 3, 0, 1)));
        h = Vector128.Max(h, Vector128.Shuffle(h, Vector128.Create(1, 0, 3, 2)));
        return h.ToScalar();
    }

    /// <summary>
    /// c[6, 16] = a[6, d]·panel[d, 16] + bias[16] (bias broadcast down the rows). Twelve accumulators,
    /// two panel loads and one broadcast per step: 15 of the 16 AVX2 registers.
    /// </summary>
    private static void ScoreTile(float* a, int d, float* panel, float* bias, float* c, int ldc)
    {
        var b0 = Vector256.Load(bias);
        var b1 = Vector256.Load(bias + 8);
        Vector256<float> c00 = b0, c01 = b1, c10 = b0, c11 = b1, c20 = b0, c21 = b1;
        Vector256<float> c30 = b0, c31 = b1, c40 = b0, c41 = b1, c50 = b0, c51 = b1;
        float* a0 = a, a1 = a + d, a2 = a + 2 * d, a3 = a + 3 * d, a4 = a + 4 * d, a5 = a + 5 * d;
        for (int x = 0; x < d; x++)
        {
            var k0 = Vector256.Load(panel);
            var k1 = Vector256.Load(panel + 8);
            panel += TileCols;
            var w = Vector256.Create(a0[x]);
            c00 = Vector256.FusedMultiplyAdd(w, k0, c00);
            c01 = Vector256.FusedMultiplyAdd(w, k1, c01);
            w = Vector256.Create(a1[x]);
            c10 = Vector256.FusedMultiplyAdd(w, k0, c10);
            c11 = Vector256.FusedMultiplyAdd(w, k1, c11);
            w = Vector256.Create(a2[x]);
            c20 = Vector256.FusedMultiplyAdd(w, k0, c20);
            c21 = Vector256.FusedMultiplyAdd(w, k1, c21);
            w = Vector256.Create(a3[x]);
            c30 = Vector256.FusedMultiplyAdd(w, k0, c30);
            c31 = Vector256.FusedMultiplyAdd(w, k1, c31);
            w = Vector256.Create(a4[x]);
            c40 = Vector256.FusedMultiplyAdd(w, k0, c40);
            c41 = Vector256.FusedMultiplyAdd(w, k1, c41);
            w = Vector256.Create(a5[x]);
            c50 = Vector256.FusedMultiplyAdd(w, k0, c50);
            c51 = Vector256.FusedMultiplyAdd(w, k1, c51);
        }
        Vector256.Store(c00, c); Vector256.Store(c01, c + 8); c += ldc;
        Vector256.Store(c10, c); Vector256.Store(c11, c + 8); c += ldc;
        Vector256.Store(c20, c); Vector256.Store(c21, c + 8); c += ldc;
        Vector256.Store(c30, c); Vector256.Store(c31, c + 8); c += ldc;
        Vector256.Store(c40, c); Vector256.Store(c41, c + 8); c += ldc;
        Vector256.Store(c50, c); Vector256.Store(c51, c + 8);
    }

    /// <summary>o[6, 16] += p[6, kn]·v[kn, 16], same register budget as <see cref="ScoreTile"/>.</summary>
    private static void ValueTile(float* p, int ldp, float* v, int ldv, int kn, float* o, int ldo)
    {
        float* o0 = o, o1 = o + ldo, o2 = o + 2 * ldo, o3 = o + 3 * ldo, o4 = o + 4 * ldo, o5 = o + 5 * ldo;
        Vector256<float> c00 = Vector256.Load(o0), c01 = Vector256.Load(o0 + 8);
        Vector256<float> c10 = Vector256.Load(o1), c11 = Vector256.Load(o1 + 8);
        Vector256<float> c20 = Vector256.Load(o2), c21 = Vector256.Load(o2 + 8);
        Vector256<float> c30 = Vector256.Load(o3), c31 = Vector256.Load(o3 + 8);
        Vector256<float> c40 = Vector256.Load(o4), c41 = Vector256.Load(o4 + 8);
        Vector256<float> c50 = Vector256.Load(o5), c51 = Vector256.Load(o5 + 8);
        float* p0 = p, p1 = p + ldp, p2 = p + 2 * ldp, p3 = p + 3 * ldp, p4 = p + 4 * ldp, p5 = p + 5 * ldp;
        for (int j = 0; j < kn; j++)
        {
            var v0 = Vector256.Load(v);
            var v1 = Vector256.Load(v + 8);
            v += ldv;
            var w = Vector256.Create(p0[j]);
            c00 = Vector256.FusedMultiplyAdd(w, v0, c00);
            c01 = Vector256.FusedMultiplyAdd(w, v1, c01);
            w = Vector256.Create(p1[j]);
            c10 = Vector256.FusedMultiplyAdd(w, v0, c10);
            c11 = Vector256.FusedMultiplyAdd(w, v1, c11);
            w = Vector256.Create(p2[j]);
            c20 = Vector256.FusedMultiplyAdd(w, v0, c20);
            c21 = Vector256.FusedMultiplyAdd(w, v1, c21);
            w = Vector256.Create(p3[j]);
            c30 = Vector256.FusedMultiplyAdd(w, v0, c30);
            c31 = Vector256.FusedMultiplyAdd(w, v1, c31);
            w = Vector256.Create(p4[j]);
            c40 = Vector256.FusedMultiplyAdd(w, v0, c40);
            c41 = Vector256.FusedMultiplyAdd(w, v1, c41);
            w = Vector256.Create(p5[j]);
            c50 = Vector256.FusedMultiplyAdd(w, v0, c50);
            c51 = Vector256.FusedMultiplyAdd(w, v1, c51);
        }
        Vector256.Store(c00, o0); Vector256.Store(c01, o0 + 8);
        Vector256.Store(c10, o1); Vector256.Store(c11, o1 + 8);
        Vector256.Store(c20, o2); Vector256.Store(c21, o2 + 8);
        Vector256.Store(c30, o3); Vector256.Store(c31, o3 + 8);
        Vector256.Store(c40, o4); Vector256.Store(c41, o4 + 8);
        Vector256.Store(c50, o5); Vector256.Store(c51, o5 + 8);
    }

    /// <summary>Writes the transpose of the 8×8 block rows[0..8][c..c+8] to dst (row stride dstStride).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(float** rows, int c, float* dst, int dstStride)
    {
        var r0 = Vector256.Load(rows[0] + c);
        var r1 = Vector256.Load(rows[1] + c);
        var r2 = Vector256.Load(rows[2] + c);
        var r3 = Vector256.Load(rows[3] + c);
        var r4 = Vector256.Load(rows[4] + c);
        var r5 = Vector256.Load(rows[5] + c);
        var r6 = Vector256.Load(rows[6] + c);
        var r7 = Vector256.Load(rows[7] + c);
        // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves: the classic three stages.
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Vector256.Store(Avx.Permute2x128(u0, u4, 0x20), dst);
        Vector256.Store(Avx.Permute2x128(u1, u5, 0x20), dst + dstStride);
        Vector256.Store(Avx.Permute2x128(u2, u6, 0x20), dst + 2 * dstStride);
        Vector256.Store(Avx.Permute2x128(u3, u7, 0x20), dst + 3 * dstStride);
        Vector256.Store(Avx.Permute2x128(u0, u4, 0x31), dst + 4 * dstStride);
        Vector256.Store(Avx.Permute2x128(u1, u5, 0x31), dst + 5 * dstStride);
        Vector256.Store(Avx.Permute2x128(u2, u6, 0x31), dst + 6 * dstStride);
        Vector256.Store(Avx.Permute2x128(u3, u7, 0x31), dst + 7 * dstStride);
    }
}
