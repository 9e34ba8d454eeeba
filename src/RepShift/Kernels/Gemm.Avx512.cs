using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RepShift.Kernels;

public static unsafe partial class Gemm
{
    private const int MR512 = 12;

    /// <summary>
    /// The 12×32 micro-kernel over two adjacent panels: 24 Vector512 accumulators, two B loads and
    /// twelve broadcasts per k (27 of the 32 vector registers). Per FMA it issues half the
    /// instructions of the 6×16 kernel. Each output adds its products in the same k order as the
    /// AVX2 kernel, so the two agree bit for bit. Rows past <paramref name="rows"/> alias the last real row.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Accumulate512(float* a, int k, float* panel0, float* panel1, float* tile, int rows)
    {
        float* a0 = a, a1 = rows > 1 ? a + k : a0, a2 = rows > 2 ? a + 2 * k : a1;
        float* a3 = rows > 3 ? a + 3 * k : a2, a4 = rows > 4 ? a + 4 * k : a3, a5 = rows > 5 ? a + 5 * k : a4;
        float* a6 = rows > 6 ? a + 6 * k : a5, a7 = rows > 7 ? a + 7 * k : a6, a8 = rows > 8 ? a + 8 * k : a7;
        float* a9 = rows > 9 ? a + 9 * k : a8, a10 = rows > 10 ? a + 10 * k : a9, a11 = rows > 11 ? a + 11 * k : a10;
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default;
        Vector512<float> c90 = default, c91 = default, ca0 = default, ca1 = default, cb0 = default, cb1 = default;
        float* b0p = panel0, b1p = panel1;
        for (int p = 0; p < k; p++, b0p += NR, b1p += NR)
        {
            var b0 = Vector512.Load(b0p);
            var b1 = Vector512.Load(b1p);
            var x = Vector512.Create(a0[p]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a1[p]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a2[p]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a3[p]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a4[p]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a5[p]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a6[p]); c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a7[p]); c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
            x = Vector512.Create(a8[p]); c80 = Vector512.FusedMultiplyAdd(x, b0, c80); c81 = Vector512.FusedMultiplyAdd(x, b1, c81);
            x = Vector512.Create(a9[p]); c90 = Vector512.FusedMultiplyAdd(x, b0, c90); c91 = Vector512.FusedMultiplyAdd(x, b1, c91);
            x = Vector512.Create(a10[p]); ca0 = Vector512.FusedMultiplyAdd(x, b0, ca0); ca1 = Vector512.FusedMultiplyAdd(x, b1, ca1);
            x = Vector512.Create(a11[p]); cb0 = Vector512.FusedMultiplyAdd(x, b0, cb0); cb1 = Vector512.FusedMultiplyAdd(x, b1, cb1);
        }
        // Left panel's 12 rows, then the right panel's: each half is a 12×16 tile the AVX2 epilogue finishes.
        float* right = tile + MR512 * NR;
        c00.Store(tile); c01.Store(right);
        c10.Store(tile + 16); c11.Store(right + 16);
        c20.Store(tile + 32); c21.Store(right + 32);
        c30.Store(tile + 48); c31.Store(right + 48);
        c40.Store(tile + 64); c41.Store(right + 64);
        c50.Store(tile + 80); c51.Store(right + 80);
        c60.Store(tile + 96); c61.Store(right + 96);
        c70.Store(tile + 112); c71.Store(right + 112);
        c80.Store(tile + 128); c81.Store(right + 128);
        c90.Store(tile + 144); c91.Store(right + 144);
        ca0.Store(tile + 160); ca1.Store(right + 160);
        cb0.Store(tile + 176); cb1.Store(right + 176);
    }
}
