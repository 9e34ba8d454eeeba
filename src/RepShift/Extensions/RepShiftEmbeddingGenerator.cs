using Microsoft.Extensions.AI;
using RepShift.Compression;
using RepShift.Embeddings;
using RepShift.Loading;

namespace RepShift.Extensions;

/// <summary>
/// RepShift as a Microsoft.Extensions.AI embedding generator, so MEAI and Semantic Kernel code switches to
/// local embeddings by constructing this instead of a remote client. Thread-safe; vectors are exactly
/// those of <see cref="TextEmbedder.Embed(IReadOnlyList{string}, IProgress{int}?, CancellationToken, CompressionPlan?, string?)"/>.
/// </summary>
public sealed class RepShiftEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>
    /// Key of <see cref="EmbeddingGenerationOptions.AdditionalProperties"/> that picks a compression preset
    /// for one call (none, balanced, fast) instead of the generator's own.
    /// </summary>
    public const string PresetProperty = "repshift_preset";

    /// <summary>
    /// Key of <see cref="EmbeddingGenerationOptions.AdditionalProperties"/> that picks the model's prompt for one call
    /// ("query", "document" or a name the model defines), as the server's <c>input_type</c> does.
    /// </summary>
    public const string InputTypeProperty = "input_type";

    private readonly EmbeddingGeneratorMetadata _metadata;
    private readonly bool _ownsEmbedder;

    /// <summary>Loads the model named in <paramref name="options"/> (the embedded all-MiniLM-L6-v2 by default).</summary>
    public RepShiftEmbeddingGenerator(RepShiftEmbeddingGeneratorOptions? options = null)
        : this(Load(options ?? new RepShiftEmbeddingGeneratorOptions()), options?.Prompt)
    {
        _ownsEmbedder = true;
    }

    /// <summary>
    /// Wraps an embedder that is already loaded; its options (length, batch, compression) apply, and it stays the
    /// caller's to dispose. <paramref name="prompt"/> names the model's prompt for every call (see <see cref="RepShiftEmbeddingGeneratorOptions.Prompt"/>).
    /// </summary>
    public RepShiftEmbeddingGenerator(TextEmbedder embedder, string? prompt = null)
    {
        ArgumentNullException.ThrowIfNull(embedder);
        Embedder = embedder;
        Prompt = prompt;
        embedder.PromptIds(prompt); // an unknown prompt name fails here, not at the first call
        _metadata = new EmbeddingGeneratorMetadata("repshift", providerUri: null, embedder.ModelName, embedder.Dimension);
    }

    /// <summary>The embedder doing the work (also reachable through <see cref="GetService"/>).</summary>
    public TextEmbedder Embedder { get; }

    /// <summary>The prompt name every call uses unless it sets <see cref="InputTypeProperty"/>.</summary>
    public string? Prompt { get; }

    /// <summary>
    /// Embeds <paramref name="values"/> in order. <see cref="EmbeddingGenerationOptions.ModelId"/>, when set, must name
    /// this generator's model. <see cref="EmbeddingGenerationOptions.Dimensions"/>, when set, keeps that many leading
    /// dimensions (1 to the model's) and L2-normalises them again (Matryoshka truncation, <see cref="Matryoshka"/>).
    /// Usage reports the tokens embedded (after truncation).
    /// </summary>
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var texts = values as IReadOnlyList<string> ?? [.. values];
        var plan = Plan(options);
        int dimensions = options?.Dimensions ?? Embedder.Dimension;
        Matryoshka.CheckDimensions(dimensions, Embedder.Dimension, Embedder.ModelName);
        string? prompt = Prompt;
        if (options?.AdditionalProperties?.TryGetValue(InputTypeProperty, out object? inputType) == true)
            prompt = inputType as string ?? throw new RepShiftException($"{InputTypeProperty} must be a prompt name (query, document or one the model defines)");
        Embedder.PromptIds(prompt);
        // The encoder is CPU-bound and synchronous; running it on the pool keeps callers' threads (UI, request loops) free.
        return Task.Run(() =>
        {
            var result = Embedder.Embed(texts, cancellation: cancellationToken, plan: plan, prompt: prompt);
            var created = DateTimeOffset.UtcNow;
            var embeddings = new GeneratedEmbeddings<Embedding<float>>(texts.Count)
            {
                Usage = new UsageDetails { InputTokenCount = result.TotalTokens, TotalTokenCount = result.TotalTokens },
            };
            foreach (var v in result.Vectors) embeddings.Add(new Embedding<float>(dimensions == v.Length ? v : Matryoshka.Truncate(v, dimensions)) { ModelId = Embedder.ModelName, CreatedAt = created });
            return embeddings;
        }, cancellationToken);
    }

    /// <summary>
    /// MEAI's service lookup: <see cref="EmbeddingGeneratorMetadata"/>, the <see cref="TextEmbedder"/>, or this
    /// generator; keyed requests get null.
    /// </summary>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(EmbeddingGeneratorMetadata)) return _metadata;
        if (serviceType == typeof(TextEmbedder)) return Embedder;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Stops the worker threads of the embedder this generator loaded itself (one passed in is left alone).</summary>
    public void Dispose()
    {
        if (_ownsEmbedder) Embedder.Dispose();
    }

    private CompressionPlan Plan(EmbeddingGenerationOptions? options)
    {
        if (options is null) return Embedder.Options.Compression;
        if (options.ModelId is { } model && !string.Equals(model, Embedder.ModelName, StringComparison.OrdinalIgnoreCase))
            throw new RepShiftException($"model '{model}' is not available: this generator runs {Embedder.ModelName}");
        if (options.AdditionalProperties?.TryGetValue(PresetProperty, out object? preset) == true)
            return preset is string name ? Presets.Get(name, Embedder.ModelName) : throw new RepShiftException($"{PresetProperty} must be a preset name ({string.Join(", ", Presets.Names)})");
        return Embedder.Options.Compression;
    }

    private static TextEmbedder Load(RepShiftEmbeddingGeneratorOptions options) => TextEmbedder.Load(options.Model, new EmbedderOptions
    {
        MaxTokens = options.MaxTokens,
        BatchSize = options.BatchSize,
        Compression = Presets.Get(options.Preset, options.Model is null ? null : BuiltInModels.Find(options.Model)?.Name),
        Precision = options.Precision,
    });
}
