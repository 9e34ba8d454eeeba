using RepShift.Cli.Commands;
using RepShift.Compression;
using RepShift.Kernels;
using RepShift.Vision;

namespace RepShift.Tests;

/// <summary>The vision facade: batching, options, top labels, the evaluation loop, and what the image commands accept.</summary>
public sealed class ImageClassifierTests
{
    private static readonly ViTConfig Config = TrainingGradientTests.TinyConfig() with { ImageSize = 16, Labels = ["a", "b", "c"] };

    private static float[][] Images(int count, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, Config.ImageSize * Config.ImageSize).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray())];
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Batches_of_any_size_give_the_encoders_predictions_in_order(bool compressed)
    {
        var weights = TrainingGradientTests.RandomWeights(Config, 3);
        var plan = compressed ? new CompressionPlan { Metric = "norm", PruneAt = [0], Keep = 0.5 } : CompressionPlan.None;
        var images = Images(5, 7);
        using var compute = new ComputeContext(threads: 1);
        var whole = new VitEncoder(weights, compute, AttentionKind.Naive).Classify(images, plan);
        using var classifier = new ImageClassifier(weights, new ImageClassifierOptions { BatchSize = 2, Attention = AttentionKind.Naive, Compression = plan });
        Assert.Equal(AttentionKind.Naive, classifier.Encoder.Attention);
        var predictions = classifier.Classify(images);
        Assert.Equal(images.Length, predictions.Count);
        for (int i = 0; i < images.Length; i++)
        {
            Assert.Equal(whole.Logits[i], predictions[i].Logits);
            Assert.Equal(whole.TokenLayers[i], predictions[i].TokenLayers);
        }
    }

    [Fact]
    public void Top_labels_are_the_softmax_in_order()
    {
        // Logits 0, ln 3, ln 4 give probabilities 1/8, 3/8, 4/8.
        var prediction = new ImagePrediction([0f, MathF.Log(3), MathF.Log(4)], 10, Config);
        Assert.Equal(2, prediction.Best);
        Assert.Equal("c", prediction.Label);
        var top = prediction.Top(2);
        Assert.Equal(["c", "b"], top.Select(t => t.Label));
        Assert.Equal(0.5f, top[0].Probability, 1e-6f);
        Assert.Equal(0.375f, top[1].Probability, 1e-6f);
    }

    [Fact]
    public void Evaluation_scores_every_plan_on_the_same_images()
    {
        using var classifier = new ImageClassifier(TrainingGradientTests.RandomWeights(Config, 5), new ImageClassifierOptions { BatchSize = 3 });
        var rng = new Random(9);
        int count = 7, bytes = Config.ImageSize * Config.ImageSize;
        var pixels = new byte[count * bytes];
        rng.NextBytes(pixels);
        var dense = classifier.Classify([.. Enumerable.Range(0, count).Select(i => classifier.Normalize(pixels.AsSpan(i * bytes, bytes)))]);
        // The first four labels are the model's own answers, the last three are wrong on purpose.
        int[] labels = [.. Enumerable.Range(0, count).Select(i => i < 4 ? dense[i].Best : (dense[i].Best + 1) % Config.NumLabels)];
        var set = new LabelledImages { Width = Config.ImageSize, Height = Config.ImageSize, Channels = 1, Pixels = pixels, Labels = labels, ClassNames = Config.Labels };
        var pruned = new CompressionPlan { Metric = "norm", PruneAt = [0], Keep = 0.25 };

        var results = ImageEvaluation.Run(classifier, set, count, [("dense", CompressionPlan.None), ("norm", pruned)], rounds: 2);

        Assert.Equal(4 / 7.0, results[0].Top1, 12);
        Assert.Equal(1.0, results[0].Work);
        Assert.Equal(1.0, results[0].Speedup);
        Assert.True(results[1].Work < 1);
        long prunedWork = classifier.Classify(dense.Select((_, i) => classifier.Normalize(pixels.AsSpan(i * bytes, bytes))).ToArray(), pruned).Sum(p => (long)p.TokenLayers);
        Assert.Equal(prunedWork / (double)(count * Config.Tokens * Config.Layers), results[1].Work, 12);
    }

    [Fact]
    public void Options_are_checked_by_property()
    {
        var weights = TrainingGradientTests.RandomWeights(Config, 5);
        Assert.Equal("BatchSize", Assert.Throws<OptionException>(() => new ImageClassifier(weights, new ImageClassifierOptions { BatchSize = 0 })).Property);
        Assert.Equal("PruneAt", Assert.Throws<OptionException>(() => new ImageClassifier(weights, new ImageClassifierOptions { Compression = new CompressionPlan { PruneAt = [5] } })).Property);
        Assert.Equal("Threads", Assert.Throws<OptionException>(() => new ImageClassifier(weights, new ImageClassifierOptions { Threads = -1 })).Property);
    }

    [Theory]
    [InlineData("--max-tokens", "64")]
    [InlineData("--batch", "4")]
    [InlineData("--pooling", "frozen")]
    public void Show_image_refuses_options_it_would_ignore(string option, string value)
    {
        var root = new System.CommandLine.RootCommand { ShowCommand.Create() };
        // An image that exists: the parse-time checks refuse a missing file before the command runs.
        string image = Path.Combine(AppContext.BaseDirectory, "Images", "sneaker.png");
        var parse = root.Parse(["show", "--image", image, "--output", "y.png", option, value]);
        var e = Assert.Throws<RepShiftException>(() => parse.Invoke(new System.CommandLine.InvocationConfiguration { EnableDefaultExceptionHandler = false }));
        Assert.Contains(option, e.Message);
    }
}
