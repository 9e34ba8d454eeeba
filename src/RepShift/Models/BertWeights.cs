namespace RepShift.Models;

/// <summary>
/// The parameters of one post-LN BERT layer as plain arrays. Linear weights are stored [in, out]
/// (row-major, as ONNX MatMul initialisers are); importers of [out, in] formats transpose on load.
/// </summary>
public sealed class BertLayerWeights
{
    public required float[] QueryWeight { get; init; }
    public required float[] QueryBias { get; init; }
    public required float[] KeyWeight { get; init; }
    public required float[] KeyBias { get; init; }
    public required float[] ValueWeight { get; init; }
    public required float[] ValueBias { get; init; }
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
            Need(l.QueryWeight, (long)d * d, p + "query weight"); Need(l.QueryBias, d, p + "query bias");
            Need(l.KeyWeight, (long)d * d, p + "key weight"); Need(l.KeyBias, d, p + "key bias");
            Need(l.ValueWeight, (long)d * d, p + "value weight"); Need(l.ValueBias, d, p + "value bias");
            Need(l.AttentionOutputWeight, (long)d * d, p + "attention output weight"); Need(l.AttentionOutputBias, d, p + "attention output bias");
            Need(l.AttentionNormGamma, d, p + "attention LayerNorm weight"); Need(l.AttentionNormBeta, d, p + "attention LayerNorm bias");
            Need(l.IntermediateWeight, (long)d * f, p + "intermediate weight"); Need(l.IntermediateBias, f, p + "intermediate bias");
            Need(l.OutputWeight, (long)f * d, p + "output weight"); Need(l.OutputBias, d, p + "output bias");
            Need(l.OutputNormGamma, d, p + "output LayerNorm weight"); Need(l.OutputNormBeta, d, p + "output LayerNorm bias");
        }
    }
}
