using RepShift.Training;
using RepShift.Vision;

namespace RepShift.Tests;

/// <summary>
/// Every backward pass against central finite differences in double precision of a float forward: the loss
/// is a fixed random weighting of the op's outputs, so each check covers the whole Jacobian-vector
/// product. Tolerance: |numeric − analytic| ≤ 2e-3 + 3e-2·|analytic| (float forward, step 1e-2).
/// </summary>
public sealed class TrainingGradientTests
{
    private static float[] Random(Random rng, int n, double scale = 1, double offset = 0)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(offset + scale * (rng.NextDouble() * 2 - 1));
        return a;
    }

    private static double Weighted(float[] output, float[] weights, int n)
    {
        double s = 0;
        for (int i = 0; i < n; i++) s += (double)output[i] * weights[i];
        return s;
    }

    /// <summary>Checks <paramref name="analytic"/> against finite differences of <paramref name="loss"/> at some coordinates of <paramref name="x"/>.</summary>
    private static void Check(string what, float[] x, float[] analytic, Func<double> loss, Random rng, int samples = 12)
    {
        const float step = 1e-2f;
        for (int s = 0; s < samples; s++)
        {
            int i = s < x.Length ? (x.Length <= samples ? s : rng.Next(x.Length)) : rng.Next(x.Length);
            float keep = x[i];
            x[i] = keep + step;
            double up = loss();
            x[i] = keep - step;
            double down = loss();
            x[i] = keep;
            double numeric = (up - down) / (2 * step);
            Assert.True(Math.Abs(numeric - analytic[i]) <= 2e-3 + 3e-2 * Math.Abs(analytic[i]),
                $"{what}[{i}]: finite difference {numeric:G6}, backward {analytic[i]:G6}");
        }
    }

    [Fact]
    public void Linear_backward_matches_finite_differences()
    {
        var rng = new Random(1);
        int rows = 13, k = 7, n = 19;
        var x = Random(rng, rows * k); var w = Random(rng, k * n); var b = Random(rng, n); var r = Random(rng, rows * n);
        var y = new float[rows * n];
        double Loss()
        {
            LinearOps.Forward(TestCompute.Shared, x, rows, w, k, n, b, y);
            return Weighted(y, r, rows * n);
        }
        var dw = new float[k * n]; var db = new float[n]; var dx = new float[rows * k];
        LinearOps.Backward(TestCompute.Shared, x, r, rows, w, k, n, dw, db, dx, false, new float[rows * k]);
        Check("dX", x, dx, Loss, rng);
        Check("dW", w, dw, Loss, rng);
        Check("db", b, db, Loss, rng);
    }

    [Fact]
    public void LayerNorm_backward_matches_finite_differences()
    {
        var rng = new Random(2);
        int rows = 5, d = 24;
        var x = Random(rng, rows * d, 2, 0.5); var g = Random(rng, d, 0.5, 1); var b = Random(rng, d); var r = Random(rng, rows * d);
        var xhat = new float[rows * d]; var rstd = new float[rows]; var y = new float[rows * d];
        double Loss()
        {
            LayerNormOps.Forward(TestCompute.Shared, x, rows, d, g, b, 1e-5f, xhat, rstd, y);
            return Weighted(y, r, rows * d);
        }
        Loss();
        var dx = new float[rows * d]; var dg = new float[d]; var dbeta = new float[d];
        LayerNormOps.Backward(TestCompute.Shared, r, xhat, rstd, rows, d, g, dx, dg, dbeta);
        Check("dX", x, dx, Loss, rng, 20);
        Check("dγ", g, dg, Loss, rng);
        Check("dβ", b, dbeta, Loss, rng);
    }

    [Fact]
    public void Gelu_derivative_matches_finite_differences()
    {
        for (double v = -5; v <= 5; v += 0.25)
        {
            double h = 1e-4;
            double numeric = (ReferenceGelu(v + h) - ReferenceGelu(v - h)) / (2 * h);
            Assert.True(Math.Abs(numeric - GeluOps.Derivative((float)v)) < 1e-5, $"GELU'({v}): {numeric} vs {GeluOps.Derivative((float)v)}");
        }
    }

    private static double ReferenceGelu(double x) => 0.5 * x * (1 + ReferenceMath.Erf(x / Math.Sqrt(2)));

    [Theory]
    [InlineData(2, 8)]   // head dim on full vectors
    [InlineData(3, 5)]   // head dim with a scalar tail
    public void Attention_backward_matches_finite_differences(int heads, int headDim)
    {
        var rng = new Random(3);
        int sequences = 2, length = 11, d = heads * headDim, t = sequences * length;
        var qkv = Random(rng, t * 3 * d); var r = Random(rng, t * d);
        var probs = new float[sequences * heads * length * length]; var o = new float[t * d];
        double Loss()
        {
            AttentionOps.Forward(TestCompute.Shared, qkv, sequences, length, heads, headDim, probs, o);
            return Weighted(o, r, t * d);
        }
        Loss();
        var dqkv = new float[t * 3 * d];
        AttentionOps.Backward(TestCompute.Shared, qkv, probs, r, sequences, length, heads, headDim, dqkv);
        Check("dQKV", qkv, dqkv, Loss, rng, 40);
    }

    [Fact]
    public void Attention_forward_matches_plain_softmax_attention()
    {
        var rng = new Random(4);
        int heads = 2, hd = 8, length = 9, d = heads * hd;
        var qkv = Random(rng, length * 3 * d);
        var probs = new float[heads * length * length]; var o = new float[length * d];
        AttentionOps.Forward(TestCompute.Shared, qkv, 1, length, heads, hd, probs, o);
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < length; i++)
            {
                var s = new double[length];
                for (int j = 0; j < length; j++)
                    for (int c = 0; c < hd; c++) s[j] += (double)qkv[i * 3 * d + h * hd + c] * qkv[j * 3 * d + d + h * hd + c] / Math.Sqrt(hd);
                double max = s.Max(), sum = s.Sum(v => Math.Exp(v - max));
                for (int c = 0; c < hd; c++)
                {
                    double expected = 0;
                    for (int j = 0; j < length; j++) expected += Math.Exp(s[j] - max) / sum * qkv[j * 3 * d + 2 * d + h * hd + c];
                    Assert.True(Math.Abs(expected - o[i * d + h * hd + c]) < 1e-5, $"head {h} row {i} col {c}");
                }
            }
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(0.1f)]
    [InlineData(0.5f)]
    public void Cross_entropy_gradient_matches_finite_differences(float smoothing)
    {
        var rng = new Random(5);
        int batch = 4, classes = 6;
        var logits = Random(rng, batch * classes, 3);
        int[] labels = [0, 5, 2, 2];
        var grad = new float[batch * classes];
        CrossEntropy.Gradient(logits, batch, classes, labels, grad, smoothing);
        Check("dlogits", logits, grad, () => CrossEntropy.Loss(logits, batch, classes, labels, smoothing), rng, 24);
    }

    [Fact]
    public void Label_smoothing_loss_matches_its_definition()
    {
        // −Σ q log softmax with q = (1 − ε)·one-hot + ε/K, written out in doubles.
        float[] logits = [1.5f, -0.5f, 0.25f, 2f];
        double lse = Math.Log(logits.Sum(v => Math.Exp(v)));
        double expected = 0;
        for (int j = 0; j < 4; j++) expected -= ((j == 2 ? 0.8 : 0) + 0.2 / 4) * (logits[j] - lse);
        Assert.Equal(expected, CrossEntropy.Loss(logits, 1, 4, [2], 0.2f), 5);
        Assert.Throws<ArgumentOutOfRangeException>(() => CrossEntropy.Loss(logits, 1, 4, [2], 1f));
    }

    internal static ViTConfig TinyConfig(int channels = 1) => new()
    {
        ImageSize = 8,
        PatchSize = 4,
        Channels = channels,
        Hidden = 16,
        Layers = 2,
        Heads = 2,
        Intermediate = 32,
        NumLabels = 3,
        LayerNormEps = 1e-6f,
        ImageMean = [.. Enumerable.Repeat(0.5f, channels)],
        ImageStd = [.. Enumerable.Repeat(0.5f, channels)],
    };

    /// <summary>A tiny model with weights large enough that every branch matters.</summary>
    internal static ViTWeights RandomWeights(ViTConfig c, int seed)
    {
        var w = ViTWeights.Zeros(c);
        var rng = new Random(seed);
        foreach (var (name, data, _) in w.Parameters())
        {
            bool gamma = name.EndsWith("gamma", StringComparison.Ordinal);
            for (int i = 0; i < data.Length; i++) data[i] = (float)((gamma ? 1 : 0) + 0.3 * (rng.NextDouble() * 2 - 1));
        }
        return w;
    }

    [Fact]
    public void Whole_model_gradients_match_finite_differences()
    {
        // Patch embedding, [CLS], positions, both LayerNorms, attention, GELU MLP, final norm, head, loss.
        var c = TinyConfig(channels: 2);
        var w = RandomWeights(c, 6);
        var rng = new Random(7);
        int batch = 3;
        var images = Random(rng, batch * 2 * 64, 1.5);
        int[] labels = [2, 0, 1];
        var graph = new VitGraph(w, TestCompute.Shared);
        double Loss() => graph.Forward(images, batch, labels);
        Loss();
        var grads = ViTWeights.Zeros(c);
        graph.Backward(labels, grads);
        var g = grads.Parameters().ToDictionary(p => p.Name, p => p.Data);
        foreach (var (name, data, _) in w.Parameters()) Check(name, data, g[name], Loss, rng, 6);
    }

    [Fact]
    public void Training_reduces_the_loss_on_a_tiny_problem()
    {
        var c = TinyConfig();
        var w = VitTrainer.Initialize(c, 1);
        var rng = new Random(8);
        // Three classes told apart by which image quarter is bright.
        int n = 48;
        var pixels = new byte[n * 64];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = i % 3;
            for (int p = 0; p < 64; p++)
            {
                int quarter = (p / 8 < 4 ? 0 : 2) + (p % 8 < 4 ? 0 : 1);
                pixels[i * 64 + p] = (byte)(rng.Next(60) + (quarter == labels[i] ? 150 : 0));
            }
        }
        var data = new LabelledImages { Width = 8, Height = 8, Channels = 1, Pixels = pixels, Labels = labels, ClassNames = ["a", "b", "c"] };
        var reports = new List<EpochReport>();
        VitTrainer.Train(TestCompute.Shared, w, data, data, new TrainingOptions { Epochs = 40, BatchSize = 16, LearningRate = 3e-3f, WarmupEpochs = 1, Flip = false, CropPadding = 0 }, reports.Add);
        Assert.True(reports[^1].TrainLoss < 0.5 * reports[0].TrainLoss, $"loss {reports[0].TrainLoss} → {reports[^1].TrainLoss}");
        Assert.True(reports[^1].TestAccuracy > 0.9f, $"accuracy {reports[^1].TestAccuracy}");
    }

    [Fact]
    public void Training_is_the_same_for_any_thread_count()
    {
        var c = TinyConfig();
        var rng = new Random(9);
        var pixels = new byte[40 * 64];
        rng.NextBytes(pixels);
        var data = new LabelledImages { Width = 8, Height = 8, Channels = 1, Pixels = pixels, Labels = [.. Enumerable.Range(0, 40).Select(i => i % 3)], ClassNames = ["a", "b", "c"] };
        float[][] Run(int threads)
        {
            using var compute = new RepShift.Kernels.ComputeContext(threads);
            var w = VitTrainer.Initialize(c, 3);
            VitTrainer.Train(compute, w, data, null, new TrainingOptions { Epochs = 2, BatchSize = 16, Seed = 3 });
            return [.. w.Parameters().Select(p => p.Data)];
        }
        var one = Run(1);
        var two = Run(2);
        for (int i = 0; i < one.Length; i++) Assert.Equal(one[i], two[i]);
    }
}
