namespace RepShift.Kernels;

/// <summary>Which attention kernel the encoder runs.</summary>
public enum AttentionKind
{
    /// <summary>Tiled online-softmax attention; never builds the N×N map (default).</summary>
    Flash,

    /// <summary>Materialises scores and probabilities per (sequence, head): the reference and the "without FlashAttention" baseline.</summary>
    Naive,
}

/// <summary>
/// Packed multi-head attention over variable-length sequences. Row t of the inputs holds token t of the
/// batch; head h occupies columns [h·headDim, (h+1)·headDim). Q, K and V may live in one fused buffer
/// (pass slices at column offsets 0, D and 2D with <see cref="InputStride"/> = 3D).
/// </summary>
public sealed class AttentionOptions
{
    public required int Heads { get; init; }
    public required int HeadDim { get; init; }

    /// <summary>Distance in floats between consecutive tokens in Q, K and V.</summary>
    public required int InputStride { get; init; }

    /// <summary>Distance in floats between consecutive tokens in the output.</summary>
    public required int OutputStride { get; init; }

    /// <summary>Multiplier of Q·Kᵀ; 1/√headDim when null.</summary>
    public float? Scale { get; init; }

    /// <summary>Optional additive bias per key token [T] (log of a merged token's size: proportional attention).</summary>
    public float[]? KeyBias { get; init; }

    /// <summary>Optional output [T·Heads]: log Σ exp(score) of each query row, index t·Heads + h.</summary>
    public float[]? LogSumExp { get; init; }

    /// <summary>Optional output [T]: attention each key receives, summed over its sequence's queries, averaged over heads.</summary>
    public float[]? AttentionReceived { get; init; }

    /// <summary>Optional output [T]: attention from each sequence's first token ([CLS]) to every key, averaged over heads.</summary>
    public float[]? ClsAttention { get; init; }

    internal float EffectiveScale => Scale ?? 1f / MathF.Sqrt(HeadDim);

    /// <summary>
    /// What every attention kernel does first: checks the shapes (see <see cref="Validate"/>) and clears the
    /// per-key outputs it accumulates into. Returns the batch's token count.
    /// </summary>
    internal int Begin(int qLength, int kLength, int vLength, int outLength, ReadOnlySpan<int> seqStarts)
    {
        Validate(qLength, kLength, vLength, outLength, seqStarts);
        int tokens = seqStarts[^1];
        AttentionReceived?.AsSpan(0, tokens).Clear();
        ClsAttention?.AsSpan(0, tokens).Clear();
        return tokens;
    }

    /// <summary>Checks shapes against a batch; throws <see cref="ArgumentException"/> with what was expected and what was found.</summary>
    private void Validate(int qLength, int kLength, int vLength, int outLength, ReadOnlySpan<int> seqStarts)
    {
        if (Heads <= 0 || HeadDim <= 0) throw new ArgumentException($"heads ({Heads}) and head dim ({HeadDim}) must be positive");
        if (HeadDim > 256) throw new ArgumentException($"head dim {HeadDim} is above the supported maximum of 256");
        int width = Heads * HeadDim;
        if (InputStride < width) throw new ArgumentException($"input stride {InputStride} is smaller than heads × head dim = {width}");
        if (OutputStride < width) throw new ArgumentException($"output stride {OutputStride} is smaller than heads × head dim = {width}");
        if (seqStarts.Length < 1 || seqStarts[0] != 0) throw new ArgumentException("sequence offsets must start at 0");
        for (int i = 1; i < seqStarts.Length; i++)
            if (seqStarts[i] < seqStarts[i - 1]) throw new ArgumentException($"sequence offsets must not decrease (offset {i} is {seqStarts[i]} after {seqStarts[i - 1]})");
        int tokens = seqStarts[^1];
        if (tokens == 0) return;
        long inNeed = (long)(tokens - 1) * InputStride + width;
        if (qLength < inNeed || kLength < inNeed || vLength < inNeed)
            throw new ArgumentException($"Q/K/V hold {qLength}/{kLength}/{vLength} values; {tokens} tokens at stride {InputStride} need {inNeed}");
        long outNeed = (long)(tokens - 1) * OutputStride + width;
        if (outLength < outNeed) throw new ArgumentException($"output holds {outLength} values; {tokens} tokens at stride {OutputStride} need {outNeed}");
        if (KeyBias != null && KeyBias.Length < tokens) throw new ArgumentException($"key bias has {KeyBias.Length} values, expected {tokens}");
        if (LogSumExp != null && LogSumExp.Length < (long)tokens * Heads) throw new ArgumentException($"log-sum-exp output has {LogSumExp.Length} values, expected {(long)tokens * Heads}");
        if (AttentionReceived != null && AttentionReceived.Length < tokens) throw new ArgumentException($"attention-received output has {AttentionReceived.Length} values, expected {tokens}");
        if (ClsAttention != null && ClsAttention.Length < tokens) throw new ArgumentException($"[CLS] attention output has {ClsAttention.Length} values, expected {tokens}");
    }
}
