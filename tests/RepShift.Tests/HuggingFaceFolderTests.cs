using RepShift.Kernels;
using RepShift.Loading;
using RepShift.Models;

namespace RepShift.Tests;

public class HuggingFaceFolderTests
{
    private static readonly string[] Texts =
    [
        "Hello, the cats sat on a mat!",
        "The quick brown fox jumped over the lazy dog.",
        "unbelievable",
        "it was running in the world? zebra",
    ];

    [Theory]
    [InlineData("")]
    [InlineData("bert.")]
    public void Loaded_folder_encodes_exactly_like_the_weights_it_was_written_from(string prefix)
    {
        using var dir = new TempDirectory();
        var weights = TinyBert.Create();
        string folder = Path.Combine(dir.Path, "tiny-bert");
        TinyBert.WriteFolder(folder, weights, prefix);

        var bundle = HuggingFaceFolder.Load(folder);
        Assert.Equal("tiny-bert", bundle.Name);
        Assert.Equal(weights.Config, bundle.Weights.Config);
        // The [out, in] → [in, out] transposition, checked directly on a non-square weight.
        Assert.Equal(weights.Layers[1].IntermediateWeight, bundle.Weights.Layers[1].IntermediateWeight);
        Assert.Equal(weights.Layers[1].OutputWeight, bundle.Weights.Layers[1].OutputWeight);
        AssertSameOutputs(weights, bundle);
    }

    [Fact]
    public void Tokenizer_json_gives_the_same_ids_as_vocab_txt()
    {
        using var dir = new TempDirectory();
        var weights = TinyBert.Create();
        string withVocab = Path.Combine(dir.Path, "a"), withJson = Path.Combine(dir.Path, "b");
        TinyBert.WriteFolder(withVocab, weights);
        TinyBert.WriteFolder(withJson, weights, vocabTxt: false, tokenizerJson: true);
        var a = HuggingFaceFolder.Load(withVocab).Tokenizer;
        var b = HuggingFaceFolder.Load(withJson).Tokenizer;

        Assert.Equal(TinyBert.Vocab.Length, b.VocabularySize);
        int Id(string token) => Array.IndexOf(TinyBert.Vocab, token);
        Assert.Equal([Id("[CLS]"), Id("hello"), Id(","), Id("the"), Id("cat"), Id("##s"), Id("sat"), Id("on"), Id("a"), Id("mat"), Id("!"), Id("[SEP]")],
            b.Encode(Texts[0], 32).Ids);
        foreach (string text in Texts) Assert.Equal(a.Encode(text, 32).Ids, b.Encode(text, 32).Ids);
    }

    [Fact]
    public void Lowercasing_follows_tokenizer_config_then_the_tokenizer_json_normalizer()
    {
        using var dir = new TempDirectory();
        var weights = TinyBert.Create();
        int hello = Array.IndexOf(TinyBert.Vocab, "hello"), unknown = Array.IndexOf(TinyBert.Vocab, "[UNK]");

        string cased = Path.Combine(dir.Path, "cased");
        TinyBert.WriteFolder(cased, weights, vocabTxt: false);
        File.WriteAllText(Path.Combine(cased, "tokenizer.json"), TinyBert.TokenizerJson(lowercase: false));
        Assert.Equal(unknown, HuggingFaceFolder.Load(cased).Tokenizer.Encode("Hello", 8).Ids[1]);

        File.WriteAllText(Path.Combine(cased, "tokenizer_config.json"), """{"do_lower_case": true, "model_max_length": 512}""");
        Assert.Equal(hello, HuggingFaceFolder.Load(cased).Tokenizer.Encode("Hello", 8).Ids[1]);

        string vocab = Path.Combine(dir.Path, "vocab");
        TinyBert.WriteFolder(vocab, weights);
        Assert.Equal(hello, HuggingFaceFolder.Load(vocab).Tokenizer.Encode("Hello", 8).Ids[1]);
        File.WriteAllText(Path.Combine(vocab, "tokenizer_config.json"), """{"do_lower_case": false}""");
        Assert.Equal(unknown, HuggingFaceFolder.Load(vocab).Tokenizer.Encode("Hello", 8).Ids[1]);
    }

    [Fact]
    public void Model_without_token_types_loads_with_an_empty_token_type_table()
    {
        using var dir = new TempDirectory();
        var weights = TinyBert.Create(typeVocabSize: 0);
        TinyBert.WriteFolder(dir.Path, weights);
        var bundle = HuggingFaceFolder.Load(dir.Path);
        Assert.Equal(0, bundle.Weights.Config.TypeVocabSize);
        Assert.Empty(bundle.Weights.TokenTypeEmbeddings);
        AssertSameOutputs(weights, bundle);
    }

    [Fact]
    public void Missing_type_vocab_size_is_taken_from_the_checkpoint()
    {
        using var dir = new TempDirectory();
        var weights = TinyBert.Create();
        TinyBert.WriteFolder(dir.Path, weights, editConfig: c => c.Remove("type_vocab_size"));
        var bundle = HuggingFaceFolder.Load(dir.Path);
        Assert.Equal(2, bundle.Weights.Config.TypeVocabSize);
        AssertSameOutputs(weights, bundle);
    }

    [Fact]
    public void LayerNorm_gamma_and_beta_names_are_accepted()
    {
        using var dir = new TempDirectory();
        var weights = TinyBert.Create();
        TinyBert.WriteFolder(dir.Path, weights, prefix: "bert.", editTensors: tensors =>
        {
            for (int i = 0; i < tensors.Count; i++)
            {
                var (name, shape, data) = tensors[i];
                if (name.Contains(".LayerNorm.", StringComparison.Ordinal))
                    tensors[i] = (name.Replace(".weight", ".gamma").Replace(".bias", ".beta"), shape, data);
            }
        });
        AssertSameOutputs(weights, HuggingFaceFolder.Load(dir.Path));
    }

    [Theory]
    [InlineData(SafeTensorsDType.F16)]
    [InlineData(SafeTensorsDType.BF16)]
    public void Half_precision_checkpoints_load_to_the_same_values(SafeTensorsDType dtype)
    {
        // Weights chosen representable in the file's type, so loading must reproduce them exactly.
        Func<float, float> round = dtype == SafeTensorsDType.F16
            ? x => (float)(Half)x
            : x => BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(x) & 0xFFFF0000u);
        using var dir = new TempDirectory();
        var weights = TinyBert.Create(seed: 11, round: round);
        TinyBert.WriteFolder(dir.Path, weights, dtype: dtype);
        var bundle = HuggingFaceFolder.Load(dir.Path);
        Assert.Equal(weights.WordEmbeddings, bundle.Weights.WordEmbeddings);
        AssertSameOutputs(weights, bundle);
    }

    [Fact]
    public void Cls_pooling_without_normalize_module_comes_from_sentence_transformers_files()
    {
        using var dir = new TempDirectory();
        var weights = TinyBert.Create();
        TinyBert.WriteFolder(dir.Path, weights);
        WriteModules(dir.Path, normalize: false);
        WritePooling(dir.Path, """{"word_embedding_dimension": 16, "pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false, "pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false, "pooling_mode_weightedmean_tokens": false, "pooling_mode_lasttoken": false, "include_prompt": true}""");

        var bundle = HuggingFaceFolder.Load(dir.Path);
        Assert.Equal(PoolingMode.Cls, bundle.Weights.Config.Pooling);
        Assert.False(bundle.Weights.Config.Normalize);
        var encoder = new BertEncoder(bundle.Weights, TestCompute.Shared, AttentionKind.Naive);
        var ids = bundle.Tokenizer.Encode(Texts[1], 32).Ids;
        Assert.Equal(encoder.HiddenStates([ids])[0][..16], encoder.Encode([ids]).Embeddings[0]);
    }

    [Fact]
    public void Mean_pooling_with_normalize_module()
    {
        using var dir = new TempDirectory();
        TinyBert.WriteFolder(dir.Path, TinyBert.Create());
        WriteModules(dir.Path, normalize: true);
        WritePooling(dir.Path, """{"word_embedding_dimension": 16, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true}""");
        var config = HuggingFaceFolder.Load(dir.Path).Weights.Config;
        Assert.Equal(PoolingMode.Mean, config.Pooling);
        Assert.True(config.Normalize);
    }

    [Fact]
    public void Unsupported_pooling_or_modules_are_refused()
    {
        using var dir = new TempDirectory();
        TinyBert.WriteFolder(dir.Path, TinyBert.Create());
        WritePooling(dir.Path, """{"pooling_mode_cls_token": false, "pooling_mode_mean_sqrt_len_tokens": true}""");
        var e = Assert.Throws<ModelFormatException>(() => HuggingFaceFolder.Load(dir.Path));
        Assert.Contains("pooling_mode_mean_sqrt_len_tokens", e.Message);
        Assert.Contains(Path.Combine("1_Pooling", "config.json"), e.Message);

        WritePooling(dir.Path, """{"pooling_mode_mean_tokens": true}""");
        File.WriteAllText(Path.Combine(dir.Path, "modules.json"), """
            [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
             {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
             {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}]
            """);
        e = Assert.Throws<ModelFormatException>(() => HuggingFaceFolder.Load(dir.Path));
        Assert.Contains("sentence_transformers.models.Dense", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("bert.")]
    public void Missing_tensor_is_named_with_some_tensors_that_were_found(string prefix)
    {
        using var dir = new TempDirectory();
        TinyBert.WriteFolder(dir.Path, TinyBert.Create(), prefix, editTensors: t => t.RemoveAll(x => x.Name.EndsWith("encoder.layer.1.output.dense.bias", StringComparison.Ordinal)));
        var e = Assert.Throws<ModelFormatException>(() => HuggingFaceFolder.Load(dir.Path));
        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains($"'{prefix}encoder.layer.1.output.dense.bias' is missing", e.Message);
        Assert.Contains($"'{prefix}embeddings.word_embeddings.weight'", e.Message);
    }

    [Fact]
    public void Wrong_shape_names_the_tensor_with_expected_and_found_shapes()
    {
        using var dir = new TempDirectory();
        var weights = TinyBert.Create();
        // Written [in, out] by mistake: same element count, transposed shape.
        TinyBert.WriteFolder(dir.Path, weights, editTensors: t =>
        {
            int i = t.FindIndex(x => x.Name == "encoder.layer.0.intermediate.dense.weight");
            t[i] = (t[i].Name, [16, 32], t[i].Data);
        });
        var e = Assert.Throws<ModelFormatException>(() => HuggingFaceFolder.Load(dir.Path));
        Assert.Contains("'encoder.layer.0.intermediate.dense.weight' has shape [16, 32], expected [32, 16]", e.Message);
        Assert.Contains("intermediate_size", e.Message);
    }

    [Fact]
    public void Vocab_size_disagreeing_with_the_embedding_table_is_refused()
    {
        using var dir = new TempDirectory();
        TinyBert.WriteFolder(dir.Path, TinyBert.Create(), editConfig: c => c["vocab_size"] = TinyBert.Vocab.Length + 5);
        var e = Assert.Throws<ModelFormatException>(() => HuggingFaceFolder.Load(dir.Path));
        Assert.Contains("'embeddings.word_embeddings.weight' has shape [40, 16], expected [45, 16]", e.Message);
    }

    [Fact]
    public void More_layers_in_the_checkpoint_than_in_the_config_is_refused()
    {
        using var dir = new TempDirectory();
        TinyBert.WriteFolder(dir.Path, TinyBert.Create(), editConfig: c => c["num_hidden_layers"] = 1);
        var e = Assert.Throws<ModelFormatException>(() => HuggingFaceFolder.Load(dir.Path));
        Assert.Contains("num_hidden_layers 1", e.Message);
    }

    [Theory]
    [InlineData("hidden_act", "gelu_new", "hidden_act \"gelu_new\" is not supported")]
    [InlineData("model_type", "roberta", "model_type \"roberta\"")]
    [InlineData("position_embedding_type", "relative_key", "\"relative_key\" is not supported")]
    [InlineData("hidden_size", "sixteen", "\"hidden_size\" must be an integer")]
    public void Unsupported_config_is_refused_naming_the_setting(string key, string value, string expected)
    {
        using var dir = new TempDirectory();
        TinyBert.WriteFolder(dir.Path, TinyBert.Create(), editConfig: c => c[key] = value);
        var e = Assert.Throws<ModelFormatException>(() => HuggingFaceFolder.Load(dir.Path));
        Assert.Contains("config.json", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Missing_files_are_listed_in_one_error()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("pytorch_model.bin"), "not read");
        var e = Assert.Throws<ModelFormatException>(() => HuggingFaceFolder.Load(dir.Path));
        Assert.Contains("config.json", e.Message);
        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains("pytorch_model.bin", e.Message);
        Assert.Contains("vocab.txt or tokenizer.json", e.Message);

        var missing = Assert.Throws<ModelFormatException>(() => HuggingFaceFolder.Load(dir.File("no-such-folder")));
        Assert.Contains("no-such-folder", missing.Message);
    }

    [Fact]
    public void Model_loader_and_text_embedder_use_the_folder()
    {
        using var dir = new TempDirectory();
        var weights = TinyBert.Create();
        TinyBert.WriteFolder(dir.Path, weights, vocabTxt: false, tokenizerJson: true);
        var embedder = new TextEmbedder(ModelLoader.Load(dir.Path), new EmbedderOptions { MaxTokens = 32, Attention = AttentionKind.Naive });
        var direct = new BertEncoder(weights, TestCompute.Shared, AttentionKind.Naive);
        var ids = embedder.Tokenize(Texts[1]).Ids;
        Assert.Equal(direct.Encode([ids]).Embeddings[0], embedder.Embed(Texts[1]));
    }

    /// <summary>Encoders built from the original [in, out] weights and from the loaded folder agree exactly.</summary>
    private static void AssertSameOutputs(BertWeights original, ModelBundle loaded)
    {
        var direct = new BertEncoder(original, TestCompute.Shared, AttentionKind.Naive);
        var fromFolder = new BertEncoder(loaded.Weights, TestCompute.Shared, AttentionKind.Naive);
        var ids = Texts.Select(t => loaded.Tokenizer.Encode(t, 32).Ids).ToList();
        var expected = direct.HiddenStates(ids);
        var actual = fromFolder.HiddenStates(ids);
        for (int s = 0; s < ids.Count; s++) Assert.Equal(expected[s], actual[s]);
        var pooledExpected = direct.Encode(ids).Embeddings;
        var pooledActual = fromFolder.Encode(ids).Embeddings;
        for (int s = 0; s < ids.Count; s++) Assert.Equal(pooledExpected[s], pooledActual[s]);
    }

    private static void WriteModules(string folder, bool normalize)
    {
        string modules = """
            [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
             {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}
            """;
        if (normalize) modules += """, {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}""";
        File.WriteAllText(Path.Combine(folder, "modules.json"), modules + "]");
    }

    private static void WritePooling(string folder, string json)
    {
        Directory.CreateDirectory(Path.Combine(folder, "1_Pooling"));
        File.WriteAllText(Path.Combine(folder, "1_Pooling", "config.json"), json);
    }
}
