using RepShift.Compression;
using RepShift.Kernels;

namespace RepShift;

/// <summary>How <see cref="TextEmbedder"/> turns texts into vectors.</summary>
public sealed record EmbedderOptions
{
    /// <summary>Tokens per text including [CLS] and [SEP]; longer texts are truncated (256 is sentence-transformers' setting for all-MiniLM-L6-v2).</summary>
    public int MaxTokens { get; init; } = 256;

    /// <summary>Texts per packed batch.</summary>
    public int BatchSize { get; init; } = 32;

    public AttentionKind Attention { get; init; } = AttentionKind.Flash;

    /// <summary>Token compression applied between layers; dense by default.</summary>
    public CompressionPlan Compression { get; init; } = CompressionPlan.None;

    internal void Validate(int maxPositions)
    {
        if (MaxTokens < 2 || MaxTokens > maxPositions)
            throw new RepShiftException($"--max-tokens {MaxTokens} is out of range: the model takes 2 to {maxPositions} tokens per text");
        if (BatchSize < 1) throw new RepShiftException($"--batch {BatchSize} is out of range: use 1 or more");
    }
}
