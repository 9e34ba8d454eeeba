using RepShift.Compression;
using RepShift.Kernels;

namespace RepShift;

/// <summary>How <see cref="TextEmbedder"/> turns texts into vectors.</summary>
public sealed record EmbedderOptions
{
    /// <summary>Tokens per text including [CLS] and [SEP]; longer texts are truncated (256 is sentence-transformers' setting for all-MiniLM-L6-v2).</summary>
    public int MaxTokens { get; init; } = 256;

    /// <summary>Most texts per packed batch.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>
    /// Most tokens per packed batch: batches are formed by token count, so short texts share large batches
    /// (large GEMMs run nearer the machine's peak) and long ones cannot blow up the scratch memory, which
    /// grows with the tokens in a batch. A single text longer than this forms a batch of its own.
    /// </summary>
    public int BatchTokens { get; init; } = 8192;

    public AttentionKind Attention { get; init; } = AttentionKind.Flash;

    /// <summary>Token compression applied between layers; dense by default.</summary>
    public CompressionPlan Compression { get; init; } = CompressionPlan.None;

    internal void Validate(int maxPositions)
    {
        if (MaxTokens < 2 || MaxTokens > maxPositions)
            throw new RepShiftException($"--max-tokens {MaxTokens} is out of range: the model takes 2 to {maxPositions} tokens per text");
        if (BatchSize < 1) throw new RepShiftException($"--batch {BatchSize} is out of range: use 1 or more");
        if (BatchTokens < 1) throw new RepShiftException($"--batch-tokens {BatchTokens} is out of range: use 1 or more (e.g. 8192)");
    }
}
