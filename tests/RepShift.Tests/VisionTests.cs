using RepShift.Compression;
using RepShift.Kernels;
using RepShift.Loading;
using RepShift.Training;
using RepShift.Vision;

namespace RepShift.Tests;

/// <summary>The ViT encoder against <see cref="ReferenceVit"/>, its compression, loading, preprocessing and errors.</summary>
public sealed class VisionTests
{
    private static string ImagePath(string name) => Path.Combine(AppContext.BaseDirectory, "Images", name);

    private static ViTConfig Config(int channels = 1, bool distilled = false) => TrainingGradientTests.TinyConfig(channels) with
    {
        ImageSize = 16,
        DistillationToken = distilled,
        Labels = ["a", "b", "c"],
    };

    private static ViTWeights Weights(ViTConfig c, int seed = 11) => TrainingGradientTests.RandomWeights(c, seed);

    private static float[][] Images(ViTConfig c, int count, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, c.Channels * c.ImageSize * c.ImageSize).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray())];
    }

    private static void AssertClose(double[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * (1 + Math.Abs(expected[i])), $"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
    }

    [Theory]
    [InlineData(1, false, AttentionKind.Flash)]
    [InlineData(3, false, AttentionKind.Naive)]
    [InlineData(3, true, AttentionKind.Flash)] // DeiT: distillation token and both heads averaged
    public void Forward_matches_the_reference(int channels, bool distilled, AttentionKind attention)
    {
        var c = Config(channels, distilled);
        var w = Weights(c);
        var encoder = new VitEncoder(w, TestCompute.Shared, attention);
        var images = Images(c, 3, 1);
        var output = encoder.Classify(images);
        // Tolerance 1e-4 relative: fp32 GEMMs and attention against double precision.
        for (int i = 0; i < images.Length; i++) AssertClose(ReferenceVit.Logits(w, images[i]), output.Logits[i], 1e-4, $"image {i}");
        Assert.All(output.TokenLayers, n => Assert.Equal(c.Tokens * c.Layers, n));
    }

    [Fact]
    public void Training_graph_and_encoder_agree()
    {
        var c = Config();
        var w = Weights(c);
        var images = Images(c, 4, 2);
        var graph = new VitGraph(w, TestCompute.Shared);
        graph.Forward(images.SelectMany(x => x).ToArray(), images.Length);
        var logits = graph.Logits.ToArray();
        var output = new VitEncoder(w, TestCompute.Shared).Classify(images);
        for (int i = 0; i < images.Length; i++)
            for (int k = 0; k < c.NumLabels; k++) Assert.True(Math.Abs(logits[i * c.NumLabels + k] - output.Logits[i][k]) < 1e-4, $"image {i} class {k}");
    }

    [Fact]
    public void Mlp_shift_scores_are_the_mlp_branch_norms()
    {
        var c = Config();
        var w = Weights(c);
        var image = Images(c, 1, 3)[0];
        var expected = new double[c.Tokens];
        ReferenceVit.Logits(w, image, shiftLayer: 0, mlpShift: expected);
        var plan = new CompressionPlan { Metric = "shift-mlp", PruneAt = [0], Keep = 0.5 };
        var seen = new float[c.Tokens];
        new VitEncoder(w, TestCompute.Shared).Trace([image], plan, (_, _) => { }, (layer, batch) =>
        {
            for (int i = 0; i < batch.Count; i++) seen[batch.Origin[i]] = batch.Score[i];
        });
        AssertClose(expected, seen, 1e-4, "‖MLP(LN(h))‖");
    }

    [Theory]
    [InlineData("shift-mlp", ReduceMode.Drop)]
    [InlineData("shift-attn", ReduceMode.Fuse)]
    [InlineData("shift-layer", ReduceMode.Merge)]
    [InlineData("norm", ReduceMode.Drop)]
    [InlineData("cls-attn", ReduceMode.Drop)]
    [InlineData("mean-attn", ReduceMode.MergeProtect)]
    [InlineData("random", ReduceMode.Drop)]
    public void Compression_keeps_the_special_tokens_and_cuts_work(string metric, ReduceMode mode)
    {
        var c = Config(distilled: true);
        var encoder = new VitEncoder(Weights(c), TestCompute.Shared);
        var images = Images(c, 3, 4);
        var plan = new CompressionPlan { Metric = metric, PruneAt = [0], Keep = 0.25, Mode = mode };
        plan.Validate(c.Layers, "vit");
        encoder.Trace(images, plan, (layer, batch) =>
        {
            for (int s = 0; s < batch.Sequences; s++)
            {
                var origins = batch.Origin[batch.SeqStarts[s]..batch.SeqStarts[s + 1]].ToArray();
                Assert.Contains(0, origins);
                Assert.Contains(1, origins);
                Assert.True(origins.Length < c.Tokens);
            }
        });
        var output = encoder.Classify(images, plan);
        Assert.All(output.TokenLayers, n => Assert.True(n < c.Tokens * c.Layers));
        Assert.All(output.Logits, l => Assert.All(l, v => Assert.True(float.IsFinite(v))));
    }

    [Fact]
    public void Keeping_everything_equals_dense_and_sub_metrics_are_refused()
    {
        var c = Config();
        var encoder = new VitEncoder(Weights(c), TestCompute.Shared);
        var images = Images(c, 2, 5);
        var dense = encoder.Classify(images).Logits;
        var kept = encoder.Classify(images, new CompressionPlan { Metric = "shift-mlp", PruneAt = [0], Keep = 1 }).Logits;
        for (int i = 0; i < images.Length; i++) Assert.Equal(dense[i], kept[i]);
        var e = Assert.Throws<RepShiftException>(() => encoder.Classify(images, new CompressionPlan { Metric = "shift-mlp-sub", PruneAt = [0], Keep = 0.5 }));
        Assert.Contains("pre-LN", e.Message);
    }

    [Fact]
    public void Safetensors_round_trip_gives_the_same_logits()
    {
        using var dir = new TempDirectory();
        var c = Config(channels: 3) with { ImageMean = [0.1f, 0.2f, 0.3f], ImageStd = [0.4f, 0.5f, 0.6f] };
        var w = Weights(c);
        HuggingFaceVit.Save(w, dir.Path);
        var loaded = HuggingFaceVit.Load(dir.Path);
        Assert.Equal(c.Labels, loaded.Config.Labels);
        Assert.Equal(c.ImageMean, loaded.Config.ImageMean);
        Assert.Equal(c.ImageStd, loaded.Config.ImageStd);
        foreach (var ((name, a, _), (_, b, _)) in w.Parameters().Zip(loaded.Parameters())) Assert.True(a.AsSpan().SequenceEqual(b), name);
        var images = Images(c, 2, 6);
        var x = new VitEncoder(w, TestCompute.Shared).Classify(images).Logits;
        var y = new VitEncoder(loaded, TestCompute.Shared).Classify(images).Logits;
        for (int i = 0; i < images.Length; i++) Assert.Equal(x[i], y[i]);
    }

    private static float[] T(float[] inByOut, int inputs, int outputs)
    {
        var t = new float[inByOut.Length];
        for (int i = 0; i < inputs; i++)
            for (int o = 0; o < outputs; o++) t[o * inputs + i] = inByOut[i * outputs + o];
        return t;
    }

    [Fact]
    public void Timm_and_deit_names_load_to_the_same_model()
    {
        // timm: fused qkv, patch_embed.proj, pos_embed, head (+ head_dist); DeiT with a distillation token.
        var c = Config(channels: 3, distilled: true);
        var w = Weights(c);
        int d = c.Hidden, f = c.Intermediate, k = c.NumLabels;
        var tensors = new List<(string, int[], float[])>
        {
            ("patch_embed.proj.weight", [d, 3, c.PatchSize, c.PatchSize], T(w.PatchWeight, c.PatchInput, d)),
            ("patch_embed.proj.bias", [d], w.PatchBias),
            ("cls_token", [1, 1, d], w.ClsToken),
            ("dist_token", [1, 1, d], w.DistToken),
            ("pos_embed", [1, c.Tokens, d], w.PositionEmbeddings),
            ("norm.weight", [d], w.NormGamma), ("norm.bias", [d], w.NormBeta),
            ("head.weight", [k, d], T(w.HeadWeight, d, k)), ("head.bias", [k], w.HeadBias),
            ("head_dist.weight", [k, d], T(w.DistHeadWeight, d, k)), ("head_dist.bias", [k], w.DistHeadBias),
        };
        for (int i = 0; i < c.Layers; i++)
        {
            var l = w.Layers[i];
            string p = $"blocks.{i}.";
            tensors.AddRange([
                (p + "norm1.weight", [d], l.Norm1Gamma), (p + "norm1.bias", [d], l.Norm1Beta),
                (p + "attn.qkv.weight", [3 * d, d], T(l.QkvWeight, d, 3 * d)), (p + "attn.qkv.bias", [3 * d], l.QkvBias),
                (p + "attn.proj.weight", [d, d], T(l.ProjWeight, d, d)), (p + "attn.proj.bias", [d], l.ProjBias),
                (p + "norm2.weight", [d], l.Norm2Gamma), (p + "norm2.bias", [d], l.Norm2Beta),
                (p + "mlp.fc1.weight", [f, d], T(l.Fc1Weight, d, f)), (p + "mlp.fc1.bias", [f], l.Fc1Bias),
                (p + "mlp.fc2.weight", [d, f], T(l.Fc2Weight, f, d)), (p + "mlp.fc2.bias", [d], l.Fc2Bias),
            ]);
        }
        using var dir = new TempDirectory();
        SafeTensorsWriter.Write(dir.File("model.safetensors"), tensors);
        dir.Write("config.json", """
            {"model_type": "vit", "distillation_token": true, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
             "intermediate_size": 32, "image_size": 16, "patch_size": 4, "num_channels": 3, "layer_norm_eps": 1e-6,
             "id2label": {"0": "a", "1": "b", "2": "c"}}
            """);
        var loaded = HuggingFaceVit.Load(dir.Path);
        var images = Images(c, 2, 9);
        var x = new VitEncoder(w, TestCompute.Shared).Classify(images).Logits;
        var y = new VitEncoder(loaded, TestCompute.Shared).Classify(images).Logits;
        for (int i = 0; i < images.Length; i++) Assert.Equal(x[i], y[i]);
    }

    [Fact]
    public void Loading_refuses_wrong_files_clearly()
    {
        using var dir = new TempDirectory();
        var w = Weights(Config());
        HuggingFaceVit.Save(w, dir.Path);
        string config = dir.File("config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"hidden_size\": 16", "\"hidden_size\": 32"));
        var e = Assert.ThrowsAny<RepShiftException>(() => HuggingFaceVit.Load(dir.Path));
        Assert.Contains("expected", e.Message);
        File.WriteAllText(config, "{\"model_type\": \"bert\"}");
        Assert.Contains("vision transformer", Assert.ThrowsAny<RepShiftException>(() => HuggingFaceVit.Load(dir.Path)).Message);
    }

    [Fact]
    public void Bicubic_interpolation_matches_the_cubic_kernel_and_keeps_constants()
    {
        int from = 3, to = 5, dim = 2;
        var rng = new Random(7);
        var grid = Enumerable.Range(0, from * from * dim).Select(_ => (float)rng.NextDouble()).ToArray();
        Assert.Equal(grid, PositionInterpolation.Bicubic(grid, from, from, dim));
        var result = PositionInterpolation.Bicubic(grid, from, to, dim);
        // Independent separable reference: Keys kernel a = −0.75, half-pixel centres, clamped taps (PyTorch's bicubic).
        double W(double x)
        {
            x = Math.Abs(x);
            return x <= 1 ? 1.25 * x * x * x - 2.25 * x * x + 1 : x < 2 ? -0.75 * x * x * x + 3.75 * x * x - 6 * x + 3 : 0;
        }
        for (int y = 0; y < to; y++)
            for (int x = 0; x < to; x++)
                for (int k = 0; k < dim; k++)
                {
                    double sy = (y + 0.5) * from / to - 0.5, sx = (x + 0.5) * from / to - 0.5, v = 0;
                    for (int iy = (int)Math.Floor(sy) - 1; iy <= (int)Math.Floor(sy) + 2; iy++)
                        for (int ix = (int)Math.Floor(sx) - 1; ix <= (int)Math.Floor(sx) + 2; ix++)
                            v += W(sy - iy) * W(sx - ix) * grid[(Math.Clamp(iy, 0, from - 1) * from + Math.Clamp(ix, 0, from - 1)) * dim + k];
                    Assert.True(Math.Abs(v - result[(y * to + x) * dim + k]) < 1e-5, $"({y}, {x}, {k})");
                }
        var constant = Enumerable.Repeat(0.7f, from * from * dim).ToArray();
        Assert.All(PositionInterpolation.Bicubic(constant, from, 7, dim), v => Assert.True(Math.Abs(v - 0.7f) < 1e-5));
    }

    [Fact]
    public void A_model_runs_at_another_image_size_with_interpolated_positions()
    {
        var c = Config();
        var w = Weights(c).WithImageSize(24);
        Assert.Equal(36 + 1, w.Config.Tokens);
        var image = Images(w.Config, 1, 8)[0];
        AssertClose(ReferenceVit.Logits(w, image), new VitEncoder(w, TestCompute.Shared).Classify([image]).Logits[0], 1e-4, "24×24");
        Assert.Throws<RepShiftException>(() => Weights(c).WithImageSize(18));
    }

    [Fact]
    public void Image_files_are_converted_to_the_model_input()
    {
        var c = Config() with { ImageSize = 28 };
        var grey = ImageFile.Load(ImagePath("sneaker.png"), c);
        var rgb = ImageFile.Load(ImagePath("sneaker-rgb-56.png"), c);
        Assert.Equal(28 * 28, grey.Length);
        Assert.Equal(28 * 28, rgb.Length);
        // The RGB copy is the grey image tinted and doubled in size, so both inputs correlate strongly.
        double dot = 0, na = 0, nb = 0;
        float ma = grey.Average(), mb = rgb.Average();
        for (int i = 0; i < grey.Length; i++)
        {
            dot += (grey[i] - ma) * (rgb[i] - mb);
            na += (grey[i] - ma) * (grey[i] - ma);
            nb += (rgb[i] - mb) * (rgb[i] - mb);
        }
        Assert.True(dot / Math.Sqrt(na * nb) > 0.9);
        // A 28×28 grey PNG is read pixel for pixel: (v/255 − 0.5)/0.5.
        using var bitmap = ImageFile.Decode(ImagePath("sneaker.png"));
        var bytes = ImageFile.ToModelBytes(bitmap, 28, 1);
        Assert.Equal(bytes[400] / 255f * 2 - 1, grey[400], 5);
    }

    [Theory]
    [InlineData("truncated.png", "truncated or corrupt")]
    [InlineData("not-an-image.png", "not a readable image")]
    [InlineData("missing.png", "not found")]
    public void Bad_image_files_are_clear_errors(string name, string message)
    {
        var e = Assert.Throws<RepShiftException>(() => ImageFile.Load(ImagePath(name), Config()));
        Assert.Contains(message, e.Message);
        Assert.Contains(name, e.Message);
    }

    [Fact]
    public void Wrong_channel_counts_are_clear_errors()
    {
        using var bitmap = ImageFile.Decode(ImagePath("sneaker.png"));
        Assert.Contains("1 (grey) or 3 (RGB)", Assert.Throws<RepShiftException>(() => ImageFile.ToModelBytes(bitmap, 28, 2)).Message);
        var c = Config(channels: 3);
        var encoder = new VitEncoder(Weights(c), TestCompute.Shared);
        Assert.Contains("3 channel(s)", Assert.Throws<RepShiftException>(() => encoder.Classify([new float[16 * 16]])).Message);

        // An IDX folder holds grey images; a 3-channel model cannot evaluate them.
        using var dir = new TempDirectory();
        var images = new byte[16 + 2 * 16 * 16];
        images[2] = 8; images[3] = 3; images[7] = 2; images[11] = 16; images[15] = 16;
        var labels = new byte[8 + 2];
        labels[2] = 8; labels[3] = 1; labels[7] = 2;
        dir.WriteBytes("t10k-images-idx3-ubyte", images);
        dir.WriteBytes("t10k-labels-idx1-ubyte", labels);
        Assert.Equal(2, ImageFolderReader.Read(dir.Path, Config()).Count);
        Assert.Contains("1 channel(s); the model takes 3", Assert.Throws<RepShiftException>(() => ImageFolderReader.Read(dir.Path, c)).Message);
    }

    [Fact]
    public void Show_figure_covers_the_removed_patches()
    {
        var c = Config() with { ImageSize = 28, PatchSize = 4 };
        var w = Weights(c with { ImageSize = 16 }).WithImageSize(28);
        var encoder = new VitEncoder(w, TestCompute.Shared);
        using var bitmap = ImageFile.Decode(ImagePath("trouser.png"));
        var pixels = ImageFile.ToModelBytes(bitmap, 28, 1);
        var input = new float[28 * 28];
        ImagePreprocessor.Normalize(pixels, 28, 1, w.Config.ImageMean, w.Config.ImageStd, input);
        var stages = PatchFates.Trace(encoder, input, new CompressionPlan { Metric = "shift-mlp", PruneAt = [0], Keep = 0.5 });
        var stage = Assert.Single(stages);
        Assert.Equal(25, stage.Alive.Count(a => a)); // 49 patches, half of them rounded up
        using var dir = new TempDirectory();
        string png = dir.File("show.png");
        PatchFigure.Write(png, pixels, w.Config, stages, merged: false);
        using var figure = ImageFile.Decode(png);
        Assert.Equal(2 * 224 + 6, figure.Width);
        // Centre of each patch in the second panel: red where removed, the image's grey where kept.
        for (int i = 0; i < 49; i++)
        {
            var px = figure.GetPixel(230 + (i % 7) * 32 + 16, (i / 7) * 32 + 16);
            bool red = px.Red > px.Green + 60;
            Assert.Equal(!stage.Alive[i], red);
        }
    }
}
