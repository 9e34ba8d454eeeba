using System.Numerics.Tensors;
using RepShift.Compression;
using RepShift.Kernels;
using RepShift.Loading;

namespace RepShift.Tests;

/// <summary>The engine with <see cref="Precision.Int8"/>: close to fp32, independent of batching, with and without compression, a quarter of the weight memory.</summary>
public class Int8EngineTests
{
    private static readonly string[] Texts =
    [
        "A man is playing a guitar.",
        "The stock market fell sharply on Monday after the central bank raised interest rates.",
        "Two dogs are running through a field of tall grass.",
        "cats",
        "The government announced new measures to support small businesses during the winter months, including tax relief and cheaper loans.",
    ];

    /// <summary>
    /// Cosine of each int8 embedding to its fp32 one. The bound 0.97 per text (mean 0.99) is what per-token
    /// activation and per-channel weight quantization keep on all-MiniLM-L6-v2: measured 0.980 minimum and
    /// 0.995 mean over `repshift verify`'s deliberately odd texts.
    /// </summary>
    [Fact]
    public void Int8EmbeddingsStayCloseToFp32()
    {
        var bundle = EmbeddedModel.Load();
        using var fp32 = new TextEmbedder(bundle, new EmbedderOptions { Threads = 2 });
        using var int8 = new TextEmbedder(bundle, new EmbedderOptions { Threads = 2, Precision = Precision.Int8 });
        Assert.Equal(Precision.Int8, int8.Encoder.Precision);
        var a = fp32.Embed(Texts).Vectors;
        var b = int8.Embed(Texts).Vectors;
        double mean = 0;
        for (int i = 0; i < Texts.Length; i++)
        {
            Assert.False(a[i].AsSpan().SequenceEqual(b[i]), "int8 gave the fp32 vector: it did not run");
            double cos = TensorPrimitives.CosineSimilarity(a[i], b[i]);
            Assert.True(cos >= 0.97, $"text {i}: cosine {cos}");
            mean += cos / Texts.Length;
        }
        Assert.True(mean >= 0.99, $"mean cosine {mean}");
    }

    /// <summary>Activations are quantized per token, so a text's int8 embedding does not depend on the batch it shares.</summary>
    [Fact]
    public void Int8EmbeddingDoesNotDependOnBatch()
    {
        using var batched = new TextEmbedder(EmbeddedModel.Load(), new EmbedderOptions { Threads = 2, Precision = Precision.Int8 });
        using var single = new TextEmbedder(EmbeddedModel.Load(), new EmbedderOptions { Threads = 1, BatchSize = 1, Precision = Precision.Int8 });
        var a = batched.Embed(Texts).Vectors;
        var b = single.Embed(Texts).Vectors;
        for (int i = 0; i < Texts.Length; i++) Assert.True(a[i].AsSpan().SequenceEqual(b[i]), $"text {i} differs between batch and single");
    }

    [Fact]
    public void Int8WorksWithCompression()
    {
        var bundle = EmbeddedModel.Load();
        var plan = Presets.Get("balanced") with { MinLength = 0 };
        using var fp32 = new TextEmbedder(bundle, new EmbedderOptions { Threads = 2, Compression = plan });
        using var int8 = new TextEmbedder(bundle, new EmbedderOptions { Threads = 2, Compression = plan, Precision = Precision.Int8 });
        var fa = fp32.Embed(Texts);
        var ia = int8.Embed(Texts);
        Assert.True(ia.TotalTokenLayers < ia.TotalTokens * bundle.Weights.Config.Layers, "the plan removed no token");
        for (int i = 0; i < Texts.Length; i++)
        {
            double cos = TensorPrimitives.CosineSimilarity(fa.Vectors[i], ia.Vectors[i]);
            Assert.True(cos >= 0.95, $"text {i}: cosine {cos}");
        }
    }

    /// <summary>Acceptance 5: the int8 encoder holds at most half the fp32 one's weight bytes (no fp32 copies kept).</summary>
    [Fact]
    public void Int8HoldsAtMostHalfTheWeightMemory()
    {
        var bundle = EmbeddedModel.Load();
        using var fp32 = new TextEmbedder(bundle, new EmbedderOptions { Threads = 1 });
        using var int8 = new TextEmbedder(bundle, new EmbedderOptions { Threads = 1, Precision = Precision.Int8 });
        long f = fp32.Encoder.WeightBytes, q = int8.Encoder.WeightBytes;
        var c = bundle.Weights.Config;
        Assert.True(f >= 4L * c.VocabSize * c.Hidden, "fp32 size misses the embedding table");
        Assert.True(q <= f / 2, $"int8 {q} bytes vs fp32 {f}");
    }
}
