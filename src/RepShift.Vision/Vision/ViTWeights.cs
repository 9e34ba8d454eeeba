namespace RepShift.Vision;

/// <summary>
/// The parameters of one pre-LN ViT layer as plain arrays; Linear weights stored [in, out] row-major
/// (loaders of PyTorch's [out, in] transpose). Training updates these arrays in place.
/// </summary>
public sealed class ViTLayerWeights
{
    public required float[] Norm1Gamma { get; init; }
    public required float[] Norm1Beta { get; init; }

    /// <summary>Q, K and V side by side, [Hidden, 3·Hidden], and their biases [3·Hidden].</summary>
    public required float[] QkvWeight { get; init; }
    public required float[] QkvBias { get; init; }
    public required float[] ProjWeight { get; init; }
    public required float[] ProjBias { get; init; }
    public required float[] Norm2Gamma { get; init; }
    public required float[] Norm2Beta { get; init; }
    public required float[] Fc1Weight { get; init; }
    public required float[] Fc1Bias { get; init; }
    public required float[] Fc2Weight { get; init; }
    public required float[] Fc2Bias { get; init; }

    public static ViTLayerWeights Zeros(ViTConfig c)
    {
        int d = c.Hidden, f = c.Intermediate;
        return new()
        {
            Norm1Gamma = new float[d],
            Norm1Beta = new float[d],
            QkvWeight = new float[d * 3 * d],
            QkvBias = new float[3 * d],
            ProjWeight = new float[d * d],
            ProjBias = new float[d],
            Norm2Gamma = new float[d],
            Norm2Beta = new float[d],
            Fc1Weight = new float[d * f],
            Fc1Bias = new float[f],
            Fc2Weight = new float[f * d],
            Fc2Bias = new float[d],
        };
    }
}

/// <summary>Everything a ViT needs: config, patch embedding, special tokens, positions, layers, final norm, heads.</summary>
public sealed class ViTWeights
{
    public required ViTConfig Config { get; init; }

    /// <summary>[Channels·Patch·Patch, Hidden]; input order (channel, row, column) as PyTorch flattens a Conv2d kernel.</summary>
    public required float[] PatchWeight { get; init; }
    public required float[] PatchBias { get; init; }
    public required float[] ClsToken { get; init; }

    /// <summary>[Hidden] for DeiT, empty otherwise.</summary>
    public required float[] DistToken { get; init; }

    /// <summary>[Tokens, Hidden] at the configured image size: [CLS], (distillation,) then patches row by row.</summary>
    public required float[] PositionEmbeddings { get; init; }
    public required ViTLayerWeights[] Layers { get; init; }
    public required float[] NormGamma { get; init; }
    public required float[] NormBeta { get; init; }

    /// <summary>[Hidden, NumLabels] and [NumLabels].</summary>
    public required float[] HeadWeight { get; init; }
    public required float[] HeadBias { get; init; }

    /// <summary>DeiT's distillation head, same shapes as the head; empty otherwise.</summary>
    public required float[] DistHeadWeight { get; init; }
    public required float[] DistHeadBias { get; init; }

    /// <summary>All parameters zero (LayerNorm scales too); the caller initialises them.</summary>
    public static ViTWeights Zeros(ViTConfig c)
    {
        int d = c.Hidden, l = c.NumLabels;
        bool dist = c.DistillationToken;
        return new()
        {
            Config = c,
            PatchWeight = new float[c.PatchInput * d],
            PatchBias = new float[d],
            ClsToken = new float[d],
            DistToken = dist ? new float[d] : [],
            PositionEmbeddings = new float[c.Tokens * d],
            Layers = [.. Enumerable.Range(0, c.Layers).Select(_ => ViTLayerWeights.Zeros(c))],
            NormGamma = new float[d],
            NormBeta = new float[d],
            HeadWeight = new float[d * l],
            HeadBias = new float[l],
            DistHeadWeight = dist ? new float[d * l] : [],
            DistHeadBias = dist ? new float[l] : [],
        };
    }

    /// <summary>
    /// Every parameter array with a stable name and whether weight decay applies (matrices only), in one
    /// fixed order: the optimiser, the gradient buffers and the tests walk the same list.
    /// </summary>
    public IEnumerable<(string Name, float[] Data, bool Decay)> Parameters()
    {
        yield return ("patch.weight", PatchWeight, true);
        yield return ("patch.bias", PatchBias, false);
        yield return ("cls", ClsToken, false);
        if (DistToken.Length > 0) yield return ("dist", DistToken, false);
        yield return ("pos", PositionEmbeddings, false);
        for (int i = 0; i < Layers.Length; i++)
        {
            var w = Layers[i];
            string p = $"layer{i}.";
            yield return (p + "norm1.gamma", w.Norm1Gamma, false);
            yield return (p + "norm1.beta", w.Norm1Beta, false);
            yield return (p + "qkv.weight", w.QkvWeight, true);
            yield return (p + "qkv.bias", w.QkvBias, false);
            yield return (p + "proj.weight", w.ProjWeight, true);
            yield return (p + "proj.bias", w.ProjBias, false);
            yield return (p + "norm2.gamma", w.Norm2Gamma, false);
            yield return (p + "norm2.beta", w.Norm2Beta, false);
            yield return (p + "fc1.weight", w.Fc1Weight, true);
            yield return (p + "fc1.bias", w.Fc1Bias, false);
            yield return (p + "fc2.weight", w.Fc2Weight, true);
            yield return (p + "fc2.bias", w.Fc2Bias, false);
        }
        yield return ("norm.gamma", NormGamma, false);
        yield return ("norm.beta", NormBeta, false);
        yield return ("head.weight", HeadWeight, true);
        yield return ("head.bias", HeadBias, false);
        if (DistHeadWeight.Length > 0)
        {
            yield return ("dist_head.weight", DistHeadWeight, true);
            yield return ("dist_head.bias", DistHeadBias, false);
        }
    }

    /// <summary>
    /// The same model for square images of <paramref name="imageSize"/> pixels (a multiple of the patch size):
    /// the position grid is resized by bicubic interpolation, everything else is shared.
    /// </summary>
    public ViTWeights WithImageSize(int imageSize)
    {
        var c = Config;
        if (imageSize == c.ImageSize) return this;
        if (imageSize <= 0 || imageSize % c.PatchSize != 0)
            throw new RepShiftException($"image size {imageSize} is not a positive multiple of the model's patch size {c.PatchSize}");
        int d = c.Hidden, special = c.SpecialTokens, grid = imageSize / c.PatchSize;
        var resized = PositionInterpolation.Bicubic(PositionEmbeddings.AsSpan(special * d), c.GridSize, grid, d);
        return new ViTWeights
        {
            Config = c with { ImageSize = imageSize },
            PatchWeight = PatchWeight,
            PatchBias = PatchBias,
            ClsToken = ClsToken,
            DistToken = DistToken,
            PositionEmbeddings = [.. PositionEmbeddings.AsSpan(0, special * d), .. resized],
            Layers = Layers,
            NormGamma = NormGamma,
            NormBeta = NormBeta,
            HeadWeight = HeadWeight,
            HeadBias = HeadBias,
            DistHeadWeight = DistHeadWeight,
            DistHeadBias = DistHeadBias,
        };
    }

    /// <summary>Checks every array against the config; throws <see cref="ModelFormatException"/> naming the tensor.</summary>
    public void Validate(string source)
    {
        var c = Config;
        c.Validate(source);
        var expected = Zeros(c).Parameters().ToDictionary(p => p.Name, p => p.Data.Length);
        if (Layers.Length != c.Layers) throw new ModelFormatException($"{source}: found {Layers.Length} layers, config says {c.Layers}");
        foreach (var (name, data, _) in Parameters())
        {
            if (!expected.TryGetValue(name, out int n)) throw new ModelFormatException($"{source}: unexpected parameter {name} for this config");
            if (data.Length != n) throw new ModelFormatException($"{source}: {name} has {data.Length} values, expected {n} (hidden {c.Hidden}, intermediate {c.Intermediate}, {c.Tokens} tokens, {c.NumLabels} labels)");
        }
    }
}
