namespace RepShift.Vision;

/// <summary>
/// Shape and constants of a pre-LayerNorm vision transformer (ViT, or DeiT with a distillation token):
/// an image of <see cref="Channels"/> × <see cref="ImageSize"/>² cut into <see cref="PatchSize"/>² patches,
/// one token per patch plus [CLS] (and the distillation token), learned position embeddings, layers of
/// x + A(LN₁(x)) then h + M(LN₂(h)), a final LayerNorm and a linear head on [CLS].
/// </summary>
public sealed record ViTConfig
{
    public required int ImageSize { get; init; }
    public required int PatchSize { get; init; }
    public required int Channels { get; init; }
    public required int Hidden { get; init; }
    public required int Layers { get; init; }
    public required int Heads { get; init; }
    public required int Intermediate { get; init; }

    /// <summary>Classes of the head; 0 for a headless encoder.</summary>
    public required int NumLabels { get; init; }

    /// <summary>DeiT's second special token; its classifier's logits are averaged with [CLS]'s.</summary>
    public bool DistillationToken { get; init; }

    public float LayerNormEps { get; init; } = 1e-12f;

    /// <summary>Per-channel mean and std of the pixel values after scaling to [0, 1] (the model's preprocessing).</summary>
    public float[] ImageMean { get; init; } = [0.5f];
    public float[] ImageStd { get; init; } = [0.5f];

    /// <summary>Class names by index; empty when the model has none (then "class N").</summary>
    public string[] Labels { get; init; } = [];

    public int HeadDim => Hidden / Heads;
    public int GridSize => ImageSize / PatchSize;
    public int Patches => GridSize * GridSize;

    /// <summary>Tokens before the patches: [CLS] and, for DeiT, the distillation token.</summary>
    public int SpecialTokens => DistillationToken ? 2 : 1;

    public int Tokens => SpecialTokens + Patches;
    public int PatchInput => Channels * PatchSize * PatchSize;

    public string Label(int index) => index < Labels.Length && !string.IsNullOrEmpty(Labels[index]) ? Labels[index] : $"class {index}";

    /// <summary>Throws <see cref="ModelFormatException"/> naming <paramref name="source"/> if the numbers cannot describe a working model.</summary>
    public void Validate(string source)
    {
        void Need(bool ok, string what)
        {
            if (!ok) throw new ModelFormatException($"{source}: {what}");
        }
        Need(ImageSize > 0 && PatchSize > 0, $"image size ({ImageSize}) and patch size ({PatchSize}) must be positive");
        Need(ImageSize % PatchSize == 0, $"image size {ImageSize} is not a multiple of the patch size {PatchSize}");
        Need(Channels is >= 1 and <= 4, $"channels must be 1 to 4, found {Channels}");
        Need(Hidden > 0 && Layers > 0 && Heads > 0 && Intermediate > 0, $"hidden ({Hidden}), layers ({Layers}), heads ({Heads}) and intermediate size ({Intermediate}) must be positive");
        Need(Hidden % Heads == 0, $"hidden size {Hidden} is not divisible by the head count {Heads}");
        Need(HeadDim <= 256, $"head dim {HeadDim} is above the supported maximum of 256");
        Need(NumLabels >= 0, $"the number of labels must not be negative, found {NumLabels}");
        Need(LayerNormEps > 0 && float.IsFinite(LayerNormEps), $"LayerNorm eps must be positive, found {LayerNormEps}");
        Need(ImageMean.Length == Channels && ImageStd.Length == Channels, $"image mean and std need one value per channel ({Channels}), found {ImageMean.Length} and {ImageStd.Length}");
        Need(ImageStd.All(s => s > 0), "image std values must be positive");
    }
}
