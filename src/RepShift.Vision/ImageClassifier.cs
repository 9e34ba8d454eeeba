using RepShift.Compression;
using RepShift.Kernels;

namespace RepShift.Vision;

/// <summary>
/// Images in, labels out: the vision counterpart of <see cref="TextEmbedder"/>. Files are decoded, converted
/// to the model's channels and size and normalised; the <see cref="VitEncoder"/> runs them in batches of
/// <see cref="ImageClassifierOptions.BatchSize"/> under the plan. Thread-safe. It owns the
/// <see cref="ComputeContext"/> made from its options; dispose it to stop the context's worker threads.
/// </summary>
public sealed class ImageClassifier : IDisposable
{
    private readonly bool _ownsCompute;

    public ImageClassifier(ViTWeights weights, ImageClassifierOptions? options = null, string source = "model")
    {
        Options = options ?? new ImageClassifierOptions();
        Options.Validate(weights.Config.Layers, source);
        Source = source;
        var compute = new ComputeContext(Options.Threads, Options.Kernel);
        try { Encoder = new VitEncoder(weights, compute, Options.Attention, source); }
        catch
        {
            compute.Dispose();
            throw;
        }
        _ownsCompute = true;
    }

    private ImageClassifier(ImageClassifier other, ImageClassifierOptions options)
    {
        Options = options;
        Encoder = other.Encoder;
        Source = other.Source;
        Options.Validate(Config.Layers, Source);
    }

    /// <summary>Loads a Hugging Face ViT/DeiT folder (config.json + model.safetensors).</summary>
    public static ImageClassifier Load(string folder, ImageClassifierOptions? options = null) => new(HuggingFaceVit.Load(folder), options, folder);

    /// <summary>
    /// The same model (weights and compute context shared) under another compression plan. The result borrows
    /// this classifier's context: it stays usable only while this one is not disposed.
    /// </summary>
    public ImageClassifier WithCompression(CompressionPlan plan) => new(this, Options with { Compression = plan });

    public ImageClassifierOptions Options { get; }
    public VitEncoder Encoder { get; }
    public string Source { get; }
    public ViTConfig Config => Encoder.Config;
    public ComputeContext Compute => Encoder.Compute;

    /// <summary>One image file as the model's input floats [C, H, W].</summary>
    public float[] LoadImage(string path) => ImageFile.Load(path, Config);

    /// <summary>Model-sized pixels (bytes, [H, W, C]) as the model's input floats.</summary>
    public float[] Normalize(ReadOnlySpan<byte> pixels)
    {
        var input = new float[Encoder.ImageValues];
        ImagePreprocessor.Normalize(pixels, Config.ImageSize, Config.Channels, Config.ImageMean, Config.ImageStd, input);
        return input;
    }

    /// <summary>Classifies image files, in order.</summary>
    public IReadOnlyList<ImagePrediction> ClassifyFiles(IReadOnlyList<string> paths, CompressionPlan? plan = null) =>
        Classify([.. paths.Select(LoadImage)], plan);

    /// <summary>Classifies preprocessed images in batches, in order, under <paramref name="plan"/> (default: <see cref="ImageClassifierOptions.Compression"/>).</summary>
    public IReadOnlyList<ImagePrediction> Classify(IReadOnlyList<float[]> images, CompressionPlan? plan = null)
    {
        plan = Checked(plan);
        var result = new List<ImagePrediction>(images.Count);
        for (int start = 0; start < images.Count; start += Options.BatchSize)
        {
            var output = ClassifyBatch(Batch(images, start), plan);
            for (int i = 0; i < output.Logits.Length; i++) result.Add(new ImagePrediction(output.Logits[i], output.TokenLayers[i], Config));
        }
        return result;
    }

    /// <summary>One image's patches at each reduction of <paramref name="plan"/> (default: <see cref="ImageClassifierOptions.Compression"/>).</summary>
    public IReadOnlyList<PatchStage> Trace(float[] image, CompressionPlan? plan = null) => PatchFates.Trace(Encoder, image, Checked(plan));

    internal CompressionPlan Checked(CompressionPlan? plan)
    {
        if (plan == null) return Options.Compression;
        if (!ReferenceEquals(plan, Options.Compression)) plan.Validate(Config.Layers, Source);
        return plan;
    }

    internal VitOutput ClassifyBatch(IReadOnlyList<float[]> batch, CompressionPlan plan) => Encoder.Classify(batch, plan);

    internal float[][] Batch(IReadOnlyList<float[]> images, int start)
    {
        var batch = new float[Math.Min(Options.BatchSize, images.Count - start)][];
        for (int i = 0; i < batch.Length; i++) batch[i] = images[start + i];
        return batch;
    }

    public void Dispose()
    {
        if (_ownsCompute) Encoder.Compute.Dispose();
    }
}
