using RepShift.Compression;
using RepShift.Tokens;

namespace RepShift.Models;

/// <summary>
/// Scratch buffers of one forward pass. They grow to the largest batch seen and are then reused, so a
/// warmed-up encoder allocates nothing per batch but its results. One workspace serves one call at a time.
/// </summary>
internal sealed class EncoderWorkspace(int hidden, int intermediate)
{
    public TokenBatch Batch { get; } = new(hidden);
    public FrozenStates Frozen { get; } = new(hidden);
    public float[] Qkv = [];
    public float[] Context = [];
    public float[] Attended = [];
    public float[] Ffn = [];

    /// <summary>Layer input kept for whole-layer shift scores.</summary>
    public float[] Before = [];

    /// <summary>log(size) per token: proportional attention once tokens were merged or fused.</summary>
    public float[] KeyBias = [];

    public float[] ClsAttention = [];
    public float[] AttentionReceived = [];

    public void EnsureCapacity(int tokens)
    {
        Grow(ref Qkv, tokens * 3 * hidden);
        Grow(ref Context, tokens * hidden);
        Grow(ref Attended, tokens * hidden);
        Grow(ref Ffn, tokens * intermediate);
        Grow(ref Before, tokens * hidden);
        Grow(ref KeyBias, tokens);
        Grow(ref ClsAttention, tokens);
        Grow(ref AttentionReceived, tokens);
    }

    private static void Grow(ref float[] a, int n)
    {
        if (a.Length < n) a = new float[Math.Max(n, a.Length * 3 / 2)];
    }
}
