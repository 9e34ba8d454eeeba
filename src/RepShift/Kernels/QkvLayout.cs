namespace RepShift.Kernels;

/// <summary>
/// The one weight layout of both encoders' attention input: the Q, K and V projections side by side,
/// [D, 3D] with row r = q[r] | k[r] | v[r] (each [in, out]), so one GEMM with N = 3D computes all three.
/// Loaders fuse at load; writers and references split it back.
/// </summary>
public static class QkvLayout
{
    /// <summary>Fuses three [D, D] matrices into [D, 3D].</summary>
    public static float[] Fuse(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int d)
    {
        long n = (long)d * d;
        if (q.Length != n || k.Length != n || v.Length != n)
            throw new ArgumentException($"Q, K and V must be [{d}, {d}] each; got {q.Length}, {k.Length} and {v.Length} values");
        var fused = new float[3 * n];
        for (int r = 0; r < d; r++)
        {
            q.Slice(r * d, d).CopyTo(fused.AsSpan(r * 3 * d));
            k.Slice(r * d, d).CopyTo(fused.AsSpan(r * 3 * d + d));
            v.Slice(r * d, d).CopyTo(fused.AsSpan(r * 3 * d + 2 * d));
        }
        return fused;
    }

    /// <summary>Part <paramref name="part"/> (0 = Q, 1 = K, 2 = V) of a fused [D, 3D] matrix, as [D, D].</summary>
    public static float[] Part(ReadOnlySpan<float> fused, int d, int part)
    {
        if (fused.Length != 3L * d * d) throw new ArgumentException($"a fused QKV matrix of width {d} has {3L * d * d} values, not {fused.Length}");
        if ((uint)part > 2) throw new ArgumentOutOfRangeException(nameof(part), part, "0 = Q, 1 = K, 2 = V");
        var result = new float[d * d];
        for (int r = 0; r < d; r++) fused.Slice(r * 3 * d + part * d, d).CopyTo(result.AsSpan(r * d));
        return result;
    }
}
