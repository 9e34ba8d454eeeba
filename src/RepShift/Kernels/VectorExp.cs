using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace RepShift.Kernels;

/// <summary>
/// 2^x on eight floats, for softmax weights. x = n + r with n = round(x) and |r| ≤ ½; 2^r is a degree-6
/// polynomial interpolating 2^r at the Chebyshev nodes of [−½, ½] (max relative error 2.6e-9 in exact
/// arithmetic, about 1e-7 ≈ 1–2 ulp once evaluated in fp32), and 2^n is added straight into the exponent bits.
/// Inputs below −126 give exactly 0 (−∞ included: padded keys); valid for x &lt; 128. Softmax passes x ≤ 0 up to
/// rounding (a score minus its row maximum or its log-sum-exp); GELU's erf passes −x²·log₂e.
/// </summary>
internal static class VectorExp
{
    // Adding 1.5·2²³ rounds x to an integer (ties to even) and leaves that integer in the low mantissa bits.
    private const float RoundingMagic = 12582912f;
    private const float C0 = 1f;
    private const float C1 = 0.6931472067028324f;
    private const float C2 = 0.2402265092228873f;
    private const float C3 = 0.05550327226670846f;
    private const float C4 = 0.009618056678532362f;
    private const float C5 = 0.0013400428177416093f;
    private const float C6 = 0.00015461444695632573f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp2(Vector256<float> x)
    {
        var magic = Vector256.Create(RoundingMagic);
        var t = x + magic;
        var n = t - magic;
        var r = x - n;
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(C6), r, Vector256.Create(C5));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C1));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C0));
        // The low bits of t hold n; shifted by 23 they are n added to the exponent (the high bits shift out).
        var scaled = (p.AsInt32() + Vector256.ShiftLeft(t.AsInt32(), 23)).AsSingle();
        // Below −126 the exponent would leave the normal range (and −∞ or huge negatives make r garbage).
        return scaled & Vector256.GreaterThanOrEqual(x, Vector256.Create(-126f));
    }
}
