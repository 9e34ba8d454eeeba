using RepShift.Models;

namespace RepShift.Loading;

/// <summary>
/// Maps the tensors of a Hugging Face BERT checkpoint (names with or without a "bert." prefix) onto
/// <see cref="BertWeights"/>, checking every shape against config.json. PyTorch Linear weights are
/// [out, in] and are transposed here to the encoder's [in, out]; the pooler is not used.
/// </summary>
internal sealed class HuggingFaceBertTensors
{
    private const string WordEmbeddings = "embeddings.word_embeddings.weight";
    private const string TokenTypeEmbeddings = "embeddings.token_type_embeddings.weight";

    private readonly SafeTensorsFile _file;
    private readonly string _prefix;

    private HuggingFaceBertTensors(SafeTensorsFile file)
    {
        _file = file;
        _prefix = file.Contains("bert." + WordEmbeddings) ? "bert." : "";
    }

    /// <summary>
    /// Reads the weights. When config.json gave no type_vocab_size (<paramref name="typeVocabSizeGiven"/> false),
    /// the token-type table's rows are taken from the checkpoint, or 0 if it has none.
    /// </summary>
    public static BertWeights Read(SafeTensorsFile file, BertConfig config, bool typeVocabSizeGiven)
    {
        var r = new HuggingFaceBertTensors(file);
        if (!typeVocabSizeGiven && r.Has(TokenTypeEmbeddings))
            config = config with { TypeVocabSize = r.Shape(TokenTypeEmbeddings)[0] };
        int d = config.Hidden, f = config.Intermediate;
        // Sizes are checked against the file before anything is allocated for them: a corrupt config.json
        // (num_hidden_layers 2000000000) must be an error, not a 16 GB array of layers.
        double parameters = ParameterCount(config);
        if (parameters * MinBytesPerValue > file.DataLength)
            throw new ModelFormatException($"{file.Source}: config.json describes {parameters:G4} parameters (hidden_size {d}, num_hidden_layers {config.Layers}, intermediate_size {f}, vocab_size {config.VocabSize}, max_position_embeddings {config.MaxPositions}), so expected at least {parameters * MinBytesPerValue:G4} bytes of tensors, but the file holds only {file.DataLength}; the config does not belong to these weights");
        if (r.Has($"encoder.layer.{config.Layers}.attention.self.query.weight"))
            throw new ModelFormatException($"{file.Source}: the checkpoint has a layer {config.Layers} but config.json says num_hidden_layers {config.Layers}; the config does not belong to these weights");

        var layers = new BertLayerWeights[config.Layers];
        for (int i = 0; i < layers.Length; i++)
        {
            string p = $"encoder.layer.{i}.";
            layers[i] = new BertLayerWeights
            {
                QkvWeight = Kernels.QkvLayout.Fuse(
                    r.Linear(p + "attention.self.query.weight", d, d, "hidden_size, hidden_size"),
                    r.Linear(p + "attention.self.key.weight", d, d, "hidden_size, hidden_size"),
                    r.Linear(p + "attention.self.value.weight", d, d, "hidden_size, hidden_size"), d),
                QkvBias = [.. r.Vector(p + "attention.self.query.bias", d, "hidden_size"),
                    .. r.Vector(p + "attention.self.key.bias", d, "hidden_size"),
                    .. r.Vector(p + "attention.self.value.bias", d, "hidden_size")],
                AttentionOutputWeight = r.Linear(p + "attention.output.dense.weight", d, d, "hidden_size, hidden_size"),
                AttentionOutputBias = r.Vector(p + "attention.output.dense.bias", d, "hidden_size"),
                AttentionNormGamma = r.NormWeight(p + "attention.output.LayerNorm", d),
                AttentionNormBeta = r.NormBias(p + "attention.output.LayerNorm", d),
                IntermediateWeight = r.Linear(p + "intermediate.dense.weight", d, f, "intermediate_size, hidden_size"),
                IntermediateBias = r.Vector(p + "intermediate.dense.bias", f, "intermediate_size"),
                OutputWeight = r.Linear(p + "output.dense.weight", f, d, "hidden_size, intermediate_size"),
                OutputBias = r.Vector(p + "output.dense.bias", d, "hidden_size"),
                OutputNormGamma = r.NormWeight(p + "output.LayerNorm", d),
                OutputNormBeta = r.NormBias(p + "output.LayerNorm", d),
            };
        }
        return new BertWeights
        {
            Config = config,
            WordEmbeddings = r.Table(WordEmbeddings, config.VocabSize, d, "vocab_size, hidden_size"),
            PositionEmbeddings = r.Table("embeddings.position_embeddings.weight", config.MaxPositions, d, "max_position_embeddings, hidden_size"),
            TokenTypeEmbeddings = config.TypeVocabSize == 0 ? [] : r.Table(TokenTypeEmbeddings, config.TypeVocabSize, d, "type_vocab_size, hidden_size"),
            EmbeddingNormGamma = r.NormWeight("embeddings.LayerNorm", d),
            EmbeddingNormBeta = r.NormBias("embeddings.LayerNorm", d),
            Layers = layers,
        };
    }

    /// <summary>The smallest float type read (F16, BF16) takes 2 bytes per value.</summary>
    private const int MinBytesPerValue = 2;

    /// <summary>Parameters the config asks for (in double: a corrupt config may overflow any integer).</summary>
    private static double ParameterCount(BertConfig c)
    {
        double d = c.Hidden, f = c.Intermediate;
        double perLayer = 4 * d * d + 2 * d * f + f + 9 * d;
        return ((double)c.VocabSize + c.MaxPositions + c.TypeVocabSize) * d + 2 * d + c.Layers * perLayer;
    }

    private bool Has(string name) => _file.Contains(_prefix + name);

    private int[] Shape(string name) => _file.Shape(Require(name));

    /// <summary>[length] tensor.</summary>
    private float[] Vector(string name, int length, string why) => Load(name, [length], why);

    /// <summary>[rows, cols] tensor kept as is (embedding tables).</summary>
    private float[] Table(string name, int rows, int cols, string why) => Load(name, [rows, cols], why);

    /// <summary>A PyTorch Linear weight, stored [out, in], returned [in, out].</summary>
    private float[] Linear(string name, int inDim, int outDim, string why) =>
        Kernels.Transpose.Of(Load(name, [outDim, inDim], why, "; PyTorch stores Linear weights [out, in]"), outDim, inDim);

    // Older checkpoints (converted from TensorFlow) call the LayerNorm parameters gamma and beta.
    private float[] NormWeight(string module, int d) =>
        Vector(Has(module + ".weight") || !Has(module + ".gamma") ? module + ".weight" : module + ".gamma", d, "hidden_size");

    private float[] NormBias(string module, int d) =>
        Vector(Has(module + ".bias") || !Has(module + ".beta") ? module + ".bias" : module + ".beta", d, "hidden_size");

    private float[] Load(string name, int[] expected, string why, string note = "")
    {
        string full = Require(name);
        var shape = _file.Info(full).Shape;
        if (!shape.SequenceEqual(expected))
            throw new ModelFormatException($"{_file.Source}: tensor '{full}' has shape {SafeTensorsFile.FormatShape(shape)}, expected {SafeTensorsFile.FormatShape(expected)} ([{why}] from config.json{note})");
        return _file.ReadFloats(full);
    }

    private string Require(string name)
    {
        string full = _prefix + name;
        if (_file.Contains(full)) return full;
        var some = _file.Names.Take(6).Select(n => $"'{n}'");
        string found = _file.Names.Count == 0 ? "the file has no tensors" : $"found {_file.Names.Count} tensors, e.g. {string.Join(", ", some)}";
        throw new ModelFormatException($"{_file.Source}: tensor '{full}' is missing; expected the tensors of a Hugging Face BERT model ({found})");
    }
}
