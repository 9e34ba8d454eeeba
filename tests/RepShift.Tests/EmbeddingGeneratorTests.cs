using Microsoft.Extensions.AI;
using RepShift.Compression;
using RepShift.Extensions;

namespace RepShift.Tests;

/// <summary>RepShift through Microsoft.Extensions.AI's IEmbeddingGenerator: the same vectors as TextEmbedder, and MEAI's conventions.</summary>
public class EmbeddingGeneratorTests
{
    private static readonly Lazy<TextEmbedder> Embedder = new(() => TextEmbedder.Load());

    private static readonly string[] Texts =
    [
        "A man is playing a guitar.", "ok", "The quick brown fox jumps over the lazy dog, twice, and then naps.",
        string.Join(" ", Enumerable.Repeat("a long text that the balanced preset compresses", 20)),
    ];

    [Theory]
    [InlineData("none")]
    [InlineData("balanced")]
    public async Task VectorsAreBitIdenticalToEmbed(string preset)
    {
        // A generator that loads its own model, against the direct embedder with the same plan.
        using IEmbeddingGenerator<string, Embedding<float>> generator = new RepShiftEmbeddingGenerator(new RepShiftEmbeddingGeneratorOptions { Preset = preset });
        var expected = Embedder.Value.Embed(Texts, plan: Presets.Get(preset));
        var embeddings = await generator.GenerateAsync(Texts);
        Assert.Equal(Texts.Length, embeddings.Count);
        for (int i = 0; i < Texts.Length; i++)
        {
            Assert.Equal(expected.Vectors[i], embeddings[i].Vector.ToArray());
            Assert.Equal("all-MiniLM-L6-v2", embeddings[i].ModelId);
        }
        Assert.Equal(expected.TotalTokens, embeddings.Usage?.InputTokenCount);
        Assert.Equal(expected.TotalTokens, embeddings.Usage?.TotalTokenCount);
        if (preset == "balanced") Assert.True(expected.TokenLayers[^1] < expected.Tokens[^1] * 6, "the long text was compressed");
    }

    [Fact]
    public async Task PerCallPresetAndSingleValueExtension()
    {
        using var generator = new RepShiftEmbeddingGenerator(Embedder.Value);
        var options = new EmbeddingGenerationOptions { AdditionalProperties = new() { [RepShiftEmbeddingGenerator.PresetProperty] = "balanced" } };
        var compressed = await generator.GenerateAsync([Texts[^1]], options);
        Assert.Equal(Embedder.Value.Embed([Texts[^1]], plan: Presets.Get("balanced")).Vectors[0], compressed[0].Vector.ToArray());
        var one = await generator.GenerateVectorAsync(Texts[0]);
        Assert.Equal(Embedder.Value.Embed(Texts[0]), one.ToArray());
    }

    [Theory]
    [InlineData(128)]
    [InlineData(384)]
    [InlineData(1)]
    public async Task DimensionsKeepTheLeadingComponentsRenormalised(int dims)
    {
        using var generator = new RepShiftEmbeddingGenerator(Embedder.Value);
        var full = Embedder.Value.Embed(Texts).Vectors;
        var embeddings = await generator.GenerateAsync(Texts, new EmbeddingGenerationOptions { Dimensions = dims });
        for (int i = 0; i < Texts.Length; i++)
        {
            var v = embeddings[i].Vector.ToArray();
            Assert.Equal(dims, v.Length);
            double prefixNorm = Math.Sqrt(full[i].Take(dims).Sum(x => (double)x * x));
            for (int d = 0; d < dims; d++) Assert.Equal(full[i][d] / prefixNorm, v[d], 1e-6);
            Assert.Equal(1.0, Math.Sqrt(v.Sum(x => (double)x * x)), 1e-5);
        }
    }

    [Fact]
    public void MetadataAndServices()
    {
        using var generator = new RepShiftEmbeddingGenerator(Embedder.Value);
        var metadata = generator.GetService<EmbeddingGeneratorMetadata>();
        Assert.NotNull(metadata);
        Assert.Equal("repshift", metadata.ProviderName);
        Assert.Equal("all-MiniLM-L6-v2", metadata.DefaultModelId);
        Assert.Equal(384, metadata.DefaultModelDimensions);
        Assert.Same(Embedder.Value, generator.GetService<TextEmbedder>());
        Assert.Same(generator, generator.GetService<IEmbeddingGenerator<string, Embedding<float>>>());
        Assert.Null(generator.GetService<EmbeddingGeneratorMetadata>("some key"));
        Assert.Null(generator.GetService<string>());
    }

    [Fact]
    public async Task ClearErrorsAndCancellation()
    {
        using var generator = new RepShiftEmbeddingGenerator(Embedder.Value);
        var wrongModel = await Assert.ThrowsAsync<RepShiftException>(() => generator.GenerateAsync(Texts, new EmbeddingGenerationOptions { ModelId = "text-embedding-3-small" }));
        Assert.Contains("all-MiniLM-L6-v2", wrongModel.Message);
        var tooMany = await Assert.ThrowsAsync<OptionException>(() => generator.GenerateAsync(Texts, new EmbeddingGenerationOptions { Dimensions = 385 }));
        Assert.Equal("385 dimensions requested: all-MiniLM-L6-v2 gives 384, so ask for 1 to 384", tooMany.Message);
        // (0 and below MEAI's options refuse themselves.)
        await Assert.ThrowsAsync<RepShiftException>(() => generator.GenerateAsync(["fine", " "]));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => generator.GenerateAsync(Texts, cancellationToken: cancelled.Token));
        Assert.Empty(await generator.GenerateAsync([]));
    }
}
