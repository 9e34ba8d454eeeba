using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RepShift.Kernels;

/// <summary>
/// GELU in the exact form BERT uses, 0.5·x·(1 + erf(x/√2)). .NET has no erf, so it is computed with
/// Abramowitz &amp; Stegun 7.1.26 (absolute error ≤ 1.5e-7), in the same form for scalars and vectors.
/// </summary>
public static class Activations
{
    private const float InvSqrt2 = 0.70710678118654752f;
    private const float Log2E = 1.44269504088896341f;
    private const float P = 0.3275911f;
    private const float A1 = 0.254829592f, A2 = -0.284496736f, A3 = 1.421413741f, A4 = -1.453152027f, A5 = 1.061405429f;

    /// <summary>erf(x), |error| ≤ 1.5e-7.</summary>
    public static float Erf(float x)
    {
        float ax = MathF.Abs(x);
        float t = 1f / (1f + P * ax);
        float poly = ((((A5 * t + A4) * t + A3) * t + A2) * t + A1) * t;
        float y = 1f - poly * MathF.Exp(-ax * ax);
        return MathF.CopySign(y, x);
    }

    public static float Gelu(float x) => 0.5f * x * (1f + Erf(x * InvSqrt2));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Erf(Vector256<float> x)
    {
        var signMask = Vector256.Create(-0f);
        var ax = Vector256.AndNot(x, signMask);
        var one = Vector256<float>.One;
        var t = Reciprocal(Vector256.FusedMultiplyAdd(Vector256.Create(P), ax, one));
        var poly = Vector256.FusedMultiplyAdd(Vector256.Create(A5), t, Vector256.Create(A4));
        poly = Vector256.FusedMultiplyAdd(poly, t, Vector256.Create(A3));
        poly = Vector256.FusedMultiplyAdd(poly, t, Vector256.Create(A2));
        poly = Vector256.FusedMultiplyAdd(poly, t, Vector256.Create(A1));
        poly *= t;
        // e^(−x²) as 2^(−x²·log₂e) with the softmax's fast exp2 (Vector256.Exp is several times slower here).
        var y = one - poly * VectorExp.Exp2(ax * ax * Vector256.Create(-Log2E));
        return y | (x & signMask);
    }

    /// <summary>1/v for v ≥ 1: the 12-bit hardware estimate refined by one Newton step (≈ 23 bits) instead of a slow divide.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Reciprocal(Vector256<float> v)
    {
        if (!Fma.IsSupported) return Vector256<float>.One / v;
        var r = Avx.Reciprocal(v);
        return r * Fma.MultiplyAddNegated(v, r, Vector256.Create(2f));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Gelu(Vector256<float> x)
    {
        var half = Vector256.Create(0.5f);
        return half * x * (Vector256<float>.One + Erf(x * Vector256.Create(InvSqrt2)));
    }

    /// <summary>In-place GELU over a span.</summary>
    public static void Gelu(Span<float> values)
    {
        int i = 0;
        for (; i <= values.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            Gelu(Vector256.Create<float>(values.Slice(i))).CopyTo(values.Slice(i));
        for (; i < values.Length; i++) values[i] = Gelu(values[i]);
    }
}
