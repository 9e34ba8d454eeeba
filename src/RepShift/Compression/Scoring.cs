using System.Numerics.Tensors;
using RepShift.Kernels;

namespace RepShift.Compression;

/// <summary>Per-token score computations. Each writes one value per row; none needs an N×N attention map.</summary>
public static class Scoring
{
    /// <summary>
    /// Representation shift of each row between <paramref name="before"/> and an "after" state that is
    /// either given (<paramref name="afterIsBranch"/> false) or before + branch output (true).
    /// </summary>
    public static void Shift(ReadOnlySpan<float> before, ReadOnlySpan<float> afterOrBranch, bool afterIsBranch, int dim,
        ShiftDistance distance, bool relative, Span<float> scores)
    {
        int rows = scores.Length;
        if (before.Length < rows * dim || afterOrBranch.Length < rows * dim) throw new ArgumentException($"need {rows} rows of {dim}");
        Span<float> delta = dim <= 1024 ? stackalloc float[dim] : new float[dim];
        Span<float> after = dim <= 1024 ? stackalloc float[dim] : new float[dim];
        for (int r = 0; r < rows; r++)
        {
            var b = before.Slice(r * dim, dim);
            var x = afterOrBranch.Slice(r * dim, dim);
            if (afterIsBranch)
            {
                x.CopyTo(delta);
                TensorPrimitives.Add(b, x, after);
            }
            else
            {
                TensorPrimitives.Subtract(x, b, delta);
                x.CopyTo(after);
            }
            float s = distance switch
            {
                ShiftDistance.L2 => Reductions.Norm(delta),
                ShiftDistance.L1 => SumOfMagnitudes(delta),
                _ => 1f - Reductions.Cosine(b, after),
            };
            if (relative && distance != ShiftDistance.Cosine)
            {
                float n = distance == ShiftDistance.L2 ? Reductions.Norm(b) : SumOfMagnitudes(b);
                s = n > 0 ? s / n : 0;
            }
            scores[r] = s;
        }
    }

    /// <summary>Σ|x| in a fixed order (see <see cref="Reductions"/>).</summary>
    private static float SumOfMagnitudes(ReadOnlySpan<float> x)
    {
        float s = 0;
        foreach (float v in x) s += MathF.Abs(v);
        return s;
    }

    /// <summary>L2 norm of each row.</summary>
    public static void Norm(ReadOnlySpan<float> states, int dim, Span<float> scores)
    {
        for (int r = 0; r < scores.Length; r++) scores[r] = Reductions.Norm(states.Slice(r * dim, dim));
    }

    /// <summary>
    /// A reproducible pseudo-random score in [0, 1) from (seed, layer, token id, position): it does not
    /// depend on batch composition, so compressed embeddings stay batch-invariant.
    /// </summary>
    public static float Random(int seed, int layer, int tokenId, int position)
    {
        ulong h = (ulong)(uint)seed * 0x9E3779B97F4A7C15UL ^ (ulong)(uint)layer * 0xC2B2AE3D27D4EB4FUL
            ^ (ulong)(uint)tokenId * 0x165667B19E3779F9UL ^ (ulong)(uint)position * 0xD6E8FEB86659FD93UL;
        h ^= h >> 33; h *= 0xFF51AFD7ED558CCDUL; h ^= h >> 33; h *= 0xC4CEB9FE1A85EC53UL; h ^= h >> 33;
        return (h >> 40) / (float)(1UL << 24);
    }
}
