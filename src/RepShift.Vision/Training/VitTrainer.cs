using System.Diagnostics;
using RepShift.Vision;

namespace RepShift.Training;

/// <summary>Settings of one training run; everything that decides the result is here (and the seed).</summary>
public sealed record TrainingOptions
{
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 128;
    public float LearningRate { get; init; } = 1e-3f;
    public float WeightDecay { get; init; } = 0.05f;
    public float WarmupEpochs { get; init; } = 1f;
    public int Seed { get; init; } = 1;

    /// <summary>Random horizontal flips.</summary>
    public bool Flip { get; init; } = true;

    /// <summary>Random crops of the image padded by this many pixels on each side (0 = off).</summary>
    public int CropPadding { get; init; } = 2;

    /// <summary>Label smoothing ε: targets (1 − ε)·one-hot + ε/classes (0 = none).</summary>
    public float LabelSmoothing { get; init; }
}

/// <summary>One epoch's numbers, reported as training goes.</summary>
public sealed record EpochReport(int Epoch, float TrainLoss, float TrainAccuracy, float TestAccuracy, TimeSpan Elapsed);

/// <summary>
/// Trains a ViT classifier from scratch on labelled images: seeded initialisation (truncated normal,
/// std 0.02; LayerNorm scales 1), seeded shuffling and augmentation, AdamW with warm-up and cosine decay.
/// Results depend only on the data, options and seed (kernels are deterministic for any thread count).
/// </summary>
public static class VitTrainer
{
    public static ViTWeights Initialize(ViTConfig config, int seed)
    {
        var w = ViTWeights.Zeros(config);
        var rng = new Random(seed);
        foreach (var (name, data, _) in w.Parameters())
        {
            if (name.EndsWith("gamma", StringComparison.Ordinal)) Array.Fill(data, 1f);
            else if (name.EndsWith("weight", StringComparison.Ordinal) || name is "cls" or "dist" or "pos")
                for (int i = 0; i < data.Length; i++) data[i] = TruncatedNormal(rng) * 0.02f;
        }
        return w;
    }

    private static float TruncatedNormal(Random rng)
    {
        while (true)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            double z = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            if (Math.Abs(z) <= 2) return (float)z;
        }
    }

    /// <summary>
    /// Trains <paramref name="weights"/> in place on <paramref name="train"/>; after each epoch measures top-1 on
    /// <paramref name="test"/> and calls <paramref name="epochDone"/>. <paramref name="stepDone"/> gets (step, total, loss).
    /// </summary>
    public static void Train(Kernels.ComputeContext compute, ViTWeights weights, LabelledImages train, LabelledImages? test, TrainingOptions options,
        Action<EpochReport>? epochDone = null, Action<int, int, float>? stepDone = null)
    {
        var c = weights.Config;
        Check(c, train, "training");
        if (test != null) Check(c, test, "test");
        var graph = new VitGraph(weights, compute) { LabelSmoothing = options.LabelSmoothing };
        var grads = ViTWeights.Zeros(c);
        var gradList = grads.Parameters().ToList();
        var optimizer = new AdamW(weights.Parameters().Select((p, i) => (p.Data, gradList[i].Data, p.Decay)), compute) { WeightDecay = options.WeightDecay };
        int batch = options.BatchSize, stepsPerEpoch = (train.Count + batch - 1) / batch, total = stepsPerEpoch * options.Epochs;
        var schedule = new LearningRateSchedule(options.LearningRate, Math.Max(1, (int)(options.WarmupEpochs * stepsPerEpoch)), total);
        var rng = new Random(options.Seed + 7919);
        var order = Enumerable.Range(0, train.Count).ToArray();
        int plane = c.Channels * c.ImageSize * c.ImageSize;
        var images = new float[batch * plane];
        var labels = new int[batch];
        var augmented = new byte[train.ImageBytes];
        var clock = Stopwatch.StartNew();
        int step = 0;
        for (int epoch = 0; epoch < options.Epochs; epoch++)
        {
            rng.Shuffle(order);
            double lossSum = 0;
            int correct = 0;
            for (int start = 0; start < train.Count; start += batch)
            {
                int n = Math.Min(batch, train.Count - start);
                for (int i = 0; i < n; i++)
                {
                    int idx = order[start + i];
                    Augment(train.Image(idx), c.ImageSize, c.Channels, options, rng, augmented);
                    ImagePreprocessor.Normalize(augmented, c.ImageSize, c.Channels, c.ImageMean, c.ImageStd, images.AsSpan(i * plane, plane));
                    labels[i] = train.Labels[idx];
                }
                float loss = graph.Forward(images.AsSpan(0, n * plane), n, labels.AsSpan(0, n));
                correct += CountCorrect(graph.Logits, n, c.NumLabels, labels);
                graph.Backward(labels.AsSpan(0, n), grads);
                optimizer.Step(schedule.At(step));
                lossSum += loss * n;
                step++;
                stepDone?.Invoke(step, total, loss);
            }
            float testAccuracy = test == null ? float.NaN : Evaluate(graph, test, c, batch);
            epochDone?.Invoke(new EpochReport(epoch + 1, (float)(lossSum / train.Count), correct / (float)train.Count, testAccuracy, clock.Elapsed));
        }
    }

    /// <summary>Top-1 accuracy of the training graph on a data set (dense, no augmentation).</summary>
    public static float Evaluate(VitGraph graph, LabelledImages data, ViTConfig c, int batch)
    {
        int plane = c.Channels * c.ImageSize * c.ImageSize, correct = 0;
        var images = new float[batch * plane];
        var labels = new int[batch];
        for (int start = 0; start < data.Count; start += batch)
        {
            int n = Math.Min(batch, data.Count - start);
            for (int i = 0; i < n; i++)
            {
                ImagePreprocessor.Normalize(data.Image(start + i), c.ImageSize, c.Channels, c.ImageMean, c.ImageStd, images.AsSpan(i * plane, plane));
                labels[i] = data.Labels[start + i];
            }
            graph.Forward(images.AsSpan(0, n * plane), n);
            correct += CountCorrect(graph.Logits, n, c.NumLabels, labels);
        }
        return correct / (float)data.Count;
    }

    private static int CountCorrect(ReadOnlySpan<float> logits, int n, int classes, int[] labels)
    {
        int correct = 0;
        for (int i = 0; i < n; i++)
        {
            var row = logits.Slice(i * classes, classes);
            int best = 0;
            for (int j = 1; j < classes; j++)
                if (row[j] > row[best]) best = j;
            if (best == labels[i]) correct++;
        }
        return correct;
    }

    /// <summary>Random flip and random crop of the zero-padded image (same size), from bytes [H, W, C].</summary>
    internal static void Augment(ReadOnlySpan<byte> src, int size, int channels, TrainingOptions o, Random rng, Span<byte> dst)
    {
        bool flip = o.Flip && rng.Next(2) == 1;
        int pad = o.CropPadding;
        int dy = pad > 0 ? rng.Next(-pad, pad + 1) : 0, dx = pad > 0 ? rng.Next(-pad, pad + 1) : 0;
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
            {
                int sy = y + dy, sx = (flip ? size - 1 - x : x) + dx;
                bool inside = (uint)sy < (uint)size && (uint)sx < (uint)size;
                for (int ch = 0; ch < channels; ch++)
                    dst[(y * size + x) * channels + ch] = inside ? src[(sy * size + sx) * channels + ch] : (byte)0;
            }
    }

    private static void Check(ViTConfig c, LabelledImages data, string what)
    {
        if (data.Width != c.ImageSize || data.Height != c.ImageSize)
            throw new RepShiftException($"the {what} images are {data.Width}×{data.Height}; the model takes {c.ImageSize}×{c.ImageSize}");
        if (data.Channels != c.Channels) throw new RepShiftException($"the {what} images have {data.Channels} channel(s); the model takes {c.Channels}");
        if (data.Labels.Any(l => l < 0 || l >= c.NumLabels)) throw new RepShiftException($"the {what} labels must be in [0, {c.NumLabels})");
    }
}
