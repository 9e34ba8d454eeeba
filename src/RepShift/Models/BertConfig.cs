namespace RepShift.Models;

/// <summary>How token states become one embedding.</summary>
public enum PoolingMode
{
    /// <summary>Mean over all of a sequence's tokens, [CLS] and [SEP] included (sentence-transformers' default).</summary>
    Mean,

    /// <summary>The state of the first token ([CLS]).</summary>
    Cls,

    /// <summary>Per dimension, the largest value over a sequence's tokens.</summary>
    Max,

    /// <summary>The state of the last token ([SEP] for BERT tokenization; decoder-style embedders pool this way).</summary>
    LastToken,

    /// <summary>Mean weighted by position: token i (0-based, [CLS] first) counts i + 1 times (sentence-transformers' weightedmean).</summary>
    WeightedMean,
}

/// <summary>Shape and constants of a BERT-family (post-LayerNorm) encoder.</summary>
public sealed record BertConfig
{
    public required int VocabSize { get; init; }
    public required int Hidden { get; init; }
    public required int Layers { get; init; }
    public required int Heads { get; init; }
    public required int Intermediate { get; init; }
    public required int MaxPositions { get; init; }

    /// <summary>Rows of the token-type embedding; 0 for models without token type ids.</summary>
    public int TypeVocabSize { get; init; } = 2;

    public float LayerNormEps { get; init; } = 1e-12f;
    public PoolingMode Pooling { get; init; } = PoolingMode.Mean;
    public bool Normalize { get; init; } = true;

    public int HeadDim => Hidden / Heads;

    /// <summary>Throws <see cref="ModelFormatException"/> naming <paramref name="source"/> if the numbers cannot describe a working encoder.</summary>
    public void Validate(string source)
    {
        void Need(bool ok, string what)
        {
            if (!ok) throw new ModelFormatException($"{source}: {what}");
        }
        Need(VocabSize > 0, $"vocabulary size must be positive, found {VocabSize}");
        Need(Hidden > 0 && Layers > 0 && Heads > 0 && Intermediate > 0, $"hidden ({Hidden}), layers ({Layers}), heads ({Heads}) and intermediate size ({Intermediate}) must be positive");
        Need(Hidden % Heads == 0, $"hidden size {Hidden} is not divisible by the head count {Heads}");
        Need(HeadDim <= 256, $"head dim {HeadDim} is above the supported maximum of 256");
        Need(MaxPositions >= 2, $"max positions must be at least 2, found {MaxPositions}");
        Need(TypeVocabSize >= 0, $"token type vocabulary must not be negative, found {TypeVocabSize}");
        Need(LayerNormEps > 0 && float.IsFinite(LayerNormEps), $"LayerNorm eps must be positive, found {LayerNormEps}");
    }
}
