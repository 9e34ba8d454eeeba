namespace RepShift.Models;

/// <summary>
/// The parameters of one post-LN BERT layer as plain arrays. Linear weights are stored [in, out]
/// (row-major, as ONNX MatMul initialisers are); importers of [out, in] formats transpose on load, and
/// fuse the query, key and value projections (<see cref="Kernels.QkvLayout"/>, as ViT weights are).
/// </summary>
public sealed class BertLayerWeights
{
    /// <summary>[D, 3D]: Q, K and V side by side (<see cref="Kernels.QkvLayout"/>).</summary>
    public required float[] QkvWeight { get; init; }

    /// <summary>[3D]: the Q, K and V biases in that order.</summary>
    public required float[] QkvBias { get; init; }

    public required float[] AttentionOutputWeight { get; init; }
    public required float[] AttentionOutputBias { get; init; }
    public required float[] AttentionNormGamma { get; init; }
    public required float[] AttentionNormBeta { get; init; }
    public required float[] IntermediateWeight { get; init; }
    public required float[] IntermediateBias { get; init; }
    public required float[] OutputWeight { get; init; }
    public required float[] OutputBias { get; init; }
    public required float[] OutputNormGamma { get; init; }
    public required float[] OutputNormBeta { get; init; }
}

/// <summary>Everything a BERT encoder needs: config, embeddings, layers. Produced by the importers, consumed by <see cref="BertEncoder"/>.</summary>
public sealed class BertWeights
{
    public required BertConfig Config { get; init; }
    public required float[] WordEmbeddings { get; init; }
    public required float[] PositionEmbeddings { get; init; }

    /// <summary>[TypeVocabSize, Hidden], or empty for models without token types.</summary>
    public required float[] TokenTypeEmbeddings { get; init; }

    public required float[] EmbeddingNormGamma { get; init; }
    public required float[] EmbeddingNormBeta { get; init; }
    public required BertLayerWeights[] Layers { get; init; }

    /// <summary>The same arrays (shared, not copied) under another config, e.g. the pooling a model's conventions or the caller chose.</summary>
    public BertWeights WithConfig(BertConfig config) => new()
    {
        Config = config,
        WordEmbeddings = WordEmbeddings,
        PositionEmbeddings = PositionEmbeddings,
        TokenTypeEmbeddings = TokenTypeEmbeddings,
        EmbeddingNormGamma = EmbeddingNormGamma,
        EmbeddingNormBeta = EmbeddingNormBeta,
        Layers = Layers,
    };

    /// <summary>Checks every array against the config; throws <see cref="ModelFormatException"/> naming the tensor, expected and found sizes.</summary>
    public void Validate(string source)
    {
        var c = Config;
        c.Validate(source);
        int d = c.Hidden, f = c.Intermediate;
        void Need(float[] a, long n, string name)
        {
            if (a.Length != n) throw new ModelFormatException($"{source}: {name} has {a.Length} values, expected {n} for hidden {d}, intermediate {f}");
        }
        Need(WordEmbeddings, (long)c.VocabSize * d, "word embeddings");
        Need(PositionEmbeddings, (long)c.MaxPositions * d, "position embeddings");
        Need(TokenTypeEmbeddings, (long)c.TypeVocabSize * d, "token type embeddings");
        Need(EmbeddingNormGamma, d, "embedding LayerNorm weight");
        Need(EmbeddingNormBeta, d, "embedding LayerNorm bias");
        if (Layers.Length != c.Layers) throw new ModelFormatException($"{source}: found {Layers.Length} layers, config says {c.Layers}");
        for (int i = 0; i < Layers.Length; i++)
        {
            var l = Layers[i];
            string p = $"layer {i} ";
            Need(l.QkvWeight, 3L * d * d, p + "fused query/key/value weight"); Need(l.QkvBias, 3L * d, p + "fused query/key/value bias");
            Need(l.AttentionOutputWeight, (long)d * d, p + "attention output weight"); Need(l.AttentionOutputBias, d, p + "attention output bias");
            Need(l.AttentionNormGamma, d, p + "attention LayerNorm weight"); Need(l.AttentionNormBeta, d, p + "attention LayerNorm bias");
            Need(l.IntermediateWeight, (long)d * f, p + "intermediate weight"); Need(l.IntermediateBias, f, p + "intermediate bias");
            Need(l.OutputWeight, (long)f * d, p + "output weight"); Need(l.OutputBias, d, p + "output bias");
            Need(l.OutputNormGamma, d, p + "output LayerNorm weight"); Need(l.OutputNormBeta, d, p + "output LayerNorm bias");
        }
    }
}
