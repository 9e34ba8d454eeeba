using RepShift.Kernels;
using System.Text.Json;
using RepShift.Loading;
using RepShift.Models;

namespace RepShift.Tests;

/// <summary>
/// A tiny random BERT (hidden 16, 2 heads, 2 layers, FFN 32) and a writer of it as a Hugging Face folder:
/// config.json, model.safetensors in PyTorch's [out, in] layout, and vocab.txt and/or tokenizer.json.
/// </summary>
internal static class TinyBert
{
    public static readonly string[] Vocab =
    [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
        "the", "a", "cat", "dog", "sat", "on", "mat", "hello", "world", "run", "##s", "##ning", "##ed",
        "is", "was", "big", "small", "red", "blue", "and", "it", "in", ",", ".", "!", "?",
        "quick", "brown", "fox", "jump", "over", "lazy", "un", "##believ", "##able",
    ];

    public static BertWeights Create(int seed = 7, int typeVocabSize = 2, Func<float, float>? round = null, int layerCount = 2, int maxPositions = 32)
    {
        var config = new BertConfig
        {
            VocabSize = Vocab.Length,
            Hidden = 16,
            Layers = layerCount,
            Heads = 2,
            Intermediate = 32,
            MaxPositions = maxPositions,
            TypeVocabSize = typeVocabSize,
            LayerNormEps = 1e-12f,
        };
        var rng = new Random(seed);
        round ??= x => x;
        float[] Random(long n, float scale, float center = 0)
        {
            var a = new float[n];
            for (int i = 0; i < n; i++) a[i] = round(center + (rng.NextSingle() * 2 - 1) * scale);
            return a;
        }
        int d = config.Hidden, f = config.Intermediate;
        var layers = new BertLayerWeights[config.Layers];
        for (int i = 0; i < layers.Length; i++)
        {
            // Drawn in the order Q, bias, K, bias, V, bias (the fixtures' random stream), then fused.
            float[] qw = Random(d * d, 0.4f), qb = Random(d, 0.1f), kw = Random(d * d, 0.4f), kb = Random(d, 0.1f), vw = Random(d * d, 0.4f), vb = Random(d, 0.1f);
            layers[i] = new BertLayerWeights
            {
                QkvWeight = QkvLayout.Fuse(qw, kw, vw, d),
                QkvBias = [.. qb, .. kb, .. vb],
                AttentionOutputWeight = Random(d * d, 0.4f),
                AttentionOutputBias = Random(d, 0.1f),
                AttentionNormGamma = Random(d, 0.2f, 1),
                AttentionNormBeta = Random(d, 0.1f),
                IntermediateWeight = Random(d * f, 0.4f),
                IntermediateBias = Random(f, 0.1f),
                OutputWeight = Random(f * d, 0.3f),
                OutputBias = Random(d, 0.1f),
                OutputNormGamma = Random(d, 0.2f, 1),
                OutputNormBeta = Random(d, 0.1f),
            };
        }
        return new BertWeights
        {
            Config = config,
            WordEmbeddings = Random(config.VocabSize * d, 1f),
            PositionEmbeddings = Random(config.MaxPositions * d, 0.5f),
            TokenTypeEmbeddings = Random(config.TypeVocabSize * d, 0.5f),
            EmbeddingNormGamma = Random(d, 0.2f, 1),
            EmbeddingNormBeta = Random(d, 0.1f),
            Layers = layers,
        };
    }

    /// <summary>The checkpoint as transformers names and lays it out (Linear weights [out, in]), pooler included.</summary>
    public static List<(string Name, int[] Shape, float[] Data)> HfTensors(BertWeights w, string prefix = "")
    {
        var c = w.Config;
        int d = c.Hidden, f = c.Intermediate;
        var list = new List<(string, int[], float[])>
        {
            (prefix + "embeddings.word_embeddings.weight", [c.VocabSize, d], w.WordEmbeddings),
            (prefix + "embeddings.position_embeddings.weight", [c.MaxPositions, d], w.PositionEmbeddings),
            (prefix + "embeddings.LayerNorm.weight", [d], w.EmbeddingNormGamma),
            (prefix + "embeddings.LayerNorm.bias", [d], w.EmbeddingNormBeta),
        };
        if (c.TypeVocabSize > 0) list.Add((prefix + "embeddings.token_type_embeddings.weight", [c.TypeVocabSize, d], w.TokenTypeEmbeddings));
        for (int i = 0; i < c.Layers; i++)
        {
            var l = w.Layers[i];
            string p = $"{prefix}encoder.layer.{i}.";
            void Linear(string name, float[] inOut, int inDim, int outDim) => list.Add((p + name + ".weight", [outDim, inDim], Transpose(inOut, inDim, outDim)));
            string[] qkv = ["query", "key", "value"];
            for (int j = 0; j < 3; j++)
            {
                Linear("attention.self." + qkv[j], QkvLayout.Part(l.QkvWeight, d, j), d, d);
                list.Add((p + $"attention.self.{qkv[j]}.bias", [d], l.QkvBias[(j * d)..((j + 1) * d)]));
            }
            Linear("attention.output.dense", l.AttentionOutputWeight, d, d); list.Add((p + "attention.output.dense.bias", [d], l.AttentionOutputBias));
            list.Add((p + "attention.output.LayerNorm.weight", [d], l.AttentionNormGamma));
            list.Add((p + "attention.output.LayerNorm.bias", [d], l.AttentionNormBeta));
            Linear("intermediate.dense", l.IntermediateWeight, d, f); list.Add((p + "intermediate.dense.bias", [f], l.IntermediateBias));
            Linear("output.dense", l.OutputWeight, f, d); list.Add((p + "output.dense.bias", [d], l.OutputBias));
            list.Add((p + "output.LayerNorm.weight", [d], l.OutputNormGamma));
            list.Add((p + "output.LayerNorm.bias", [d], l.OutputNormBeta));
        }
        list.Add((prefix + "pooler.dense.weight", [d, d], new float[d * d]));
        list.Add((prefix + "pooler.dense.bias", [d], new float[d]));
        return list;
    }

    /// <summary>config.json as transformers writes it for BertModel.</summary>
    public static Dictionary<string, object?> Config(BertConfig c) => new()
    {
        ["architectures"] = new[] { "BertModel" },
        ["attention_probs_dropout_prob"] = 0.1,
        ["hidden_act"] = "gelu",
        ["hidden_dropout_prob"] = 0.1,
        ["hidden_size"] = c.Hidden,
        ["initializer_range"] = 0.02,
        ["intermediate_size"] = c.Intermediate,
        ["layer_norm_eps"] = 1e-12,
        ["max_position_embeddings"] = c.MaxPositions,
        ["model_type"] = "bert",
        ["num_attention_heads"] = c.Heads,
        ["num_hidden_layers"] = c.Layers,
        ["pad_token_id"] = 0,
        ["position_embedding_type"] = "absolute",
        ["torch_dtype"] = "float32",
        ["type_vocab_size"] = c.TypeVocabSize,
        ["vocab_size"] = c.VocabSize,
    };

    /// <summary>tokenizer.json with a BertNormalizer and a WordPiece model; the vocab is written in reverse id order on purpose.</summary>
    public static string TokenizerJson(bool lowercase = true)
    {
        var vocab = new Dictionary<string, int>();
        for (int i = Vocab.Length - 1; i >= 0; i--) vocab[Vocab[i]] = i;
        var tokenizer = new Dictionary<string, object?>
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["normalizer"] = new Dictionary<string, object?> { ["type"] = "BertNormalizer", ["clean_text"] = true, ["handle_chinese_chars"] = true, ["strip_accents"] = null, ["lowercase"] = lowercase },
            ["pre_tokenizer"] = new Dictionary<string, object?> { ["type"] = "BertPreTokenizer" },
            ["model"] = new Dictionary<string, object?> { ["type"] = "WordPiece", ["unk_token"] = "[UNK]", ["continuing_subword_prefix"] = "##", ["max_input_chars_per_word"] = 100, ["vocab"] = vocab },
        };
        return JsonSerializer.Serialize(tokenizer);
    }

    /// <summary>Writes a complete folder; the hooks let a test change the config or the tensors before they are written.</summary>
    public static void WriteFolder(string dir, BertWeights w, string prefix = "", bool vocabTxt = true, bool tokenizerJson = false,
        SafeTensorsDType dtype = SafeTensorsDType.F32, Action<Dictionary<string, object?>>? editConfig = null,
        Action<List<(string Name, int[] Shape, float[] Data)>>? editTensors = null, string? pooling = "mean_tokens")
    {
        Directory.CreateDirectory(dir);
        // As sentence-transformers saves a model: its Pooling config states the pooling (null: a bare transformer folder).
        if (pooling != null)
        {
            Directory.CreateDirectory(Path.Combine(dir, "1_Pooling"));
            File.WriteAllText(Path.Combine(dir, "1_Pooling", "config.json"), $$"""{"word_embedding_dimension": {{w.Config.Hidden}}, "pooling_mode_{{pooling}}": true}""");
        }
        var config = Config(w.Config);
        editConfig?.Invoke(config);
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(config));
        var tensors = HfTensors(w, prefix);
        editTensors?.Invoke(tensors);
        SafeTensorsWriter.Write(Path.Combine(dir, "model.safetensors"), tensors, dtype, new Dictionary<string, string> { ["format"] = "pt" });
        if (vocabTxt) File.WriteAllText(Path.Combine(dir, "vocab.txt"), string.Join("\n", Vocab) + "\n");
        if (tokenizerJson) File.WriteAllText(Path.Combine(dir, "tokenizer.json"), TokenizerJson());
    }

    /// <summary>[rows, cols] → [cols, rows].</summary>
    public static float[] Transpose(float[] a, int rows, int cols)
    {
        var t = new float[a.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
        return t;
    }
}
