using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RepShift.Kernels;

/// <summary>
/// Symmetric int8 quantization: q = round(x · 127 / max|x|) (to nearest even, as cvtps2dq rounds), in
/// [−127, 127]. Activations are quantized per row (per token) at run time and stored offset by +128 as
/// unsigned bytes, the left operand VPDPBUSD takes.
/// </summary>
public static class Int8Quantizer
{
    /// <summary>x rounded to the nearest integer (ties to even) and clamped to [−127, 127].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Round(float x) => (int)Math.Clamp(MathF.Round(x, MidpointRounding.ToEven), -127f, 127f);

    /// <summary>
    /// Quantizes one row into <paramref name="dst"/> as q + 128 (the padding up to
    /// dst.Length gets 128, i.e. zero) and returns the row's scale max|x| / 127 (0 for an all-zero row, NaN when
    /// the row holds a NaN or an infinity, so the output turns NaN as fp32 would).
    /// </summary>
    public static unsafe float QuantizeRow(ReadOnlySpan<float> row, Span<byte> dst)
    {
        int k = row.Length;
        if (dst.Length < k) throw new ArgumentException($"destination has {dst.Length} bytes, the row {k} values");
        float max = k == 0 ? 0 : MathF.Abs(TensorPrimitives.MaxMagnitude(row));
        if (!float.IsFinite(max))
        {
            dst.Fill(128);
            return float.NaN;
        }
        float inv = max > 0 ? 127f / max : 0f;
        int i = 0;
        fixed (float* src = row)
        fixed (byte* q = dst)
        {
            if (Avx2.IsSupported)
            {
                var vinv = Vector256.Create(inv);
                var lo = Vector256.Create(-127);
                var hi = Vector256.Create(127);
                var offset = Vector256.Create(128);
                for (; i + 32 <= k; i += 32)
                {
                    var q0 = Vector256.Min(Vector256.Max(Avx.ConvertToVector256Int32(Vector256.Load(src + i) * vinv), lo), hi) + offset;
                    var q1 = Vector256.Min(Vector256.Max(Avx.ConvertToVector256Int32(Vector256.Load(src + i + 8) * vinv), lo), hi) + offset;
                    var q2 = Vector256.Min(Vector256.Max(Avx.ConvertToVector256Int32(Vector256.Load(src + i + 16) * vinv), lo), hi) + offset;
                    var q3 = Vector256.Min(Vector256.Max(Avx.ConvertToVector256Int32(Vector256.Load(src + i + 24) * vinv), lo), hi) + offset;
                    var bytes = Vector256.Narrow(Vector256.Narrow(q0.AsUInt32(), q1.AsUInt32()), Vector256.Narrow(q2.AsUInt32(), q3.AsUInt32()));
                    bytes.Store(q + i);
                }
            }
            for (; i < k; i++) q[i] = (byte)(Round(src[i] * inv) + 128);
        }
        dst[k..].Fill(128);
        return max / 127f;
    }
}
