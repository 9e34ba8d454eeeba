namespace RepShift.Extensions;

/// <summary>What <see cref="RepShiftEmbeddingGenerator"/> loads and how it embeds.</summary>
public sealed record RepShiftEmbeddingGeneratorOptions
{
    /// <summary>Model name or path as <see cref="TextEmbedder.Load"/> takes it; null is the embedded all-MiniLM-L6-v2.</summary>
    public string? Model { get; init; }

    /// <summary>Tokens per text including [CLS] and [SEP]; longer texts are truncated.</summary>
    public int MaxTokens { get; init; } = 256;

    /// <summary>Most texts per packed batch (batches are also capped at <see cref="EmbedderOptions.BatchTokens"/> tokens).</summary>
    public int BatchSize { get; init; } = new EmbedderOptions().BatchSize;

    /// <summary>
    /// The model's prompt put before every text: "query" for search queries, "document" for what is searched, or a
    /// name the model defines; null is the model's default (usually none). A call can pick another with
    /// <see cref="RepShiftEmbeddingGenerator.InputTypeProperty"/>.
    /// </summary>
    public string? Prompt { get; init; }

    /// <summary>Compression preset: none (dense), balanced or fast (see <see cref="Compression.Presets"/>).</summary>
    public string Preset { get; init; } = "none";

    /// <summary>Number format of the linear layers: Fp32 (reference) or Int8 (faster, a quarter of the weight memory; see README).</summary>
    public Kernels.Precision Precision { get; init; } = Kernels.Precision.Fp32;
}
