using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RepShift.Kernels;

/// <summary>
/// Sums, dot products and norms whose rounding depends only on the values, never on where the span
/// sits in memory. TensorPrimitives aligns its loops to the address, so the same row summed at two
/// addresses can differ in the last bit — enough to make an embedding depend on its batch. These loops
/// always start at element 0 with unaligned loads, four accumulators and a fixed final order.
/// </summary>
public static class Reductions
{
    public static float Sum(ReadOnlySpan<float> x) => Dot(x, default, squareOrOne: false);

    public static float SumOfSquares(ReadOnlySpan<float> x) => Dot(x, x, squareOrOne: true);

    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        if (x.Length != y.Length) throw new ArgumentException("spans must have the same length");
        return Dot(x, y, squareOrOne: true);
    }

    public static float Norm(ReadOnlySpan<float> x) => MathF.Sqrt(SumOfSquares(x));

    public static float Cosine(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        float d = Dot(x, y), n = MathF.Sqrt(SumOfSquares(x) * SumOfSquares(y));
        return n > 0 ? d / n : 0;
    }

    /// <summary>Σ xᵢ·yᵢ when <paramref name="squareOrOne"/>, else Σ xᵢ (y unused).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y, bool squareOrOne)
    {
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        int n = x.Length, i = 0;
        var a0 = Vector256<float>.Zero;
        var a1 = a0;
        var a2 = a0;
        var a3 = a0;
        for (; i <= n - 32; i += 32)
        {
            var x0 = Vector256.LoadUnsafe(ref px, (nuint)i);
            var x1 = Vector256.LoadUnsafe(ref px, (nuint)i + 8);
            var x2 = Vector256.LoadUnsafe(ref px, (nuint)i + 16);
            var x3 = Vector256.LoadUnsafe(ref px, (nuint)i + 24);
            if (squareOrOne)
            {
                a0 = Vector256.FusedMultiplyAdd(x0, Vector256.LoadUnsafe(ref py, (nuint)i), a0);
                a1 = Vector256.FusedMultiplyAdd(x1, Vector256.LoadUnsafe(ref py, (nuint)i + 8), a1);
                a2 = Vector256.FusedMultiplyAdd(x2, Vector256.LoadUnsafe(ref py, (nuint)i + 16), a2);
                a3 = Vector256.FusedMultiplyAdd(x3, Vector256.LoadUnsafe(ref py, (nuint)i + 24), a3);
            }
            else
            {
                a0 += x0; a1 += x1; a2 += x2; a3 += x3;
            }
        }
        for (; i <= n - 8; i += 8)
        {
            var x0 = Vector256.LoadUnsafe(ref px, (nuint)i);
            a0 = squareOrOne ? Vector256.FusedMultiplyAdd(x0, Vector256.LoadUnsafe(ref py, (nuint)i), a0) : a0 + x0;
        }
        float sum = Vector256.Sum((a0 + a1) + (a2 + a3));
        for (; i < n; i++) sum += squareOrOne ? Unsafe.Add(ref px, i) * Unsafe.Add(ref py, i) : Unsafe.Add(ref px, i);
        return sum;
    }
}
