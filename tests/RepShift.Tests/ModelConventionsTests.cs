using RepShift.Compression;
using RepShift.Kernels;
using RepShift.Loading;
using RepShift.Models;

namespace RepShift.Tests;

/// <summary>Pooling modes against a plain reference on the last hidden states, and conventions read from sentence-transformers files.</summary>
public class ModelConventionsTests
{
    private static readonly string[] Texts = ["the quick brown fox", "a cat sat on the mat , and it was big !", "hello"];

    /// <summary>sentence-transformers' pooling written out on one sequence's hidden states [n · d].</summary>
    private static float[] ReferencePool(float[] hidden, int d, PoolingMode mode)
    {
        int n = hidden.Length / d;
        var v = new double[d];
        double total = 0;
        for (int t = 0; t < n; t++)
        {
            double w = mode == PoolingMode.WeightedMean ? t + 1 : 1;
            for (int j = 0; j < d; j++)
            {
                double x = hidden[t * d + j];
                v[j] = mode switch
                {
                    PoolingMode.Cls => t == 0 ? x : v[j],
                    PoolingMode.LastToken => t == n - 1 ? x : v[j],
                    PoolingMode.Max => t == 0 ? x : Math.Max(v[j], x),
                    _ => v[j] + w * x,
                };
            }
            total += w;
        }
        if (mode is PoolingMode.Mean or PoolingMode.WeightedMean)
            for (int j = 0; j < d; j++) v[j] /= total;
        double norm = Math.Sqrt(v.Sum(x => x * x));
        return [.. v.Select(x => (float)(x / norm))];
    }

    [Theory]
    [InlineData(PoolingMode.Mean)]
    [InlineData(PoolingMode.Cls)]
    [InlineData(PoolingMode.Max)]
    [InlineData(PoolingMode.LastToken)]
    [InlineData(PoolingMode.WeightedMean)]
    public void Each_pooling_matches_its_reference(PoolingMode mode)
    {
        using var dir = new TempDirectory();
        TinyBert.WriteFolder(dir.Path, TinyBert.Create(), pooling: null);
        using var embedder = new TextEmbedder(ModelLoader.Load(dir.Path), new EmbedderOptions { Pooling = mode, Attention = AttentionKind.Naive, MaxTokens = 32 });
        Assert.Equal(mode, embedder.Conventions.Pooling);
        var ids = Texts.Select(t => embedder.Tokenize(t).Ids).ToList();
        var hidden = embedder.Encoder.HiddenStates(ids);
        var vectors = embedder.Embed(Texts).Vectors;
        for (int s = 0; s < Texts.Length; s++)
        {
            var expected = ReferencePool(hidden[s], 16, mode);
            for (int j = 0; j < 16; j++) Assert.Equal(expected[j], vectors[s][j], 1e-5f); // float sums against double: a few ulps
        }
    }

    [Fact]
    public void A_folder_that_does_not_state_its_pooling_is_refused_until_the_caller_does()
    {
        using var dir = new TempDirectory();
        TinyBert.WriteFolder(dir.Path, TinyBert.Create(), pooling: null);
        var bundle = ModelLoader.Load(dir.Path);
        Assert.Null(bundle.Conventions.Pooling);
        var e = Assert.Throws<ModelFormatException>(() => new TextEmbedder(bundle, new EmbedderOptions { MaxTokens = 32 }));
        Assert.Contains("--embedding-pooling", e.Message);
        Assert.Contains("1_Pooling/config.json", e.Message);
        using var cls = new TextEmbedder(bundle, new EmbedderOptions { Pooling = PoolingMode.Cls, MaxTokens = 32 });
        Assert.Equal(PoolingMode.Cls, cls.Encoder.Config.Pooling);
    }

    [Fact]
    public void An_onnx_file_takes_the_pooling_of_the_sentence_transformers_files_beside_or_above_it()
    {
        using var dir = new TempDirectory();
        var files = new RepShift.Cli.Benchmarks.TinyModelFiles();
        string onnxDir = Path.Combine(dir.Path, "onnx");
        Directory.CreateDirectory(onnxDir);
        File.WriteAllBytes(Path.Combine(onnxDir, "model.onnx"), files.Onnx);
        File.WriteAllBytes(Path.Combine(onnxDir, "vocab.txt"), files.VocabText);

        // Alone: nothing says how to pool.
        var bare = ModelLoader.Load(Path.Combine(onnxDir, "model.onnx"));
        Assert.Null(bare.Conventions.Pooling);
        Assert.Throws<ModelFormatException>(() => new TextEmbedder(bare, new EmbedderOptions { MaxTokens = 8 }));

        // The Hub layout: onnx/model.onnx under a sentence-transformers folder.
        Directory.CreateDirectory(Path.Combine(dir.Path, "1_Pooling"));
        File.WriteAllText(Path.Combine(dir.Path, "1_Pooling", "config.json"), """{"pooling_mode_cls_token": true}""");
        File.WriteAllText(Path.Combine(dir.Path, "modules.json"), """
            [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
             {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
            """);
        var bundle = ModelLoader.Load(Path.Combine(onnxDir, "model.onnx"));
        Assert.Equal(PoolingMode.Cls, bundle.Conventions.Pooling);
        Assert.False(bundle.Conventions.Normalize);
        using var embedder = new TextEmbedder(bundle, new EmbedderOptions { MaxTokens = 8 });
        var ids = embedder.Tokenize("the cat").Ids;
        Assert.Equal(embedder.Encoder.HiddenStates([ids])[0][..TinyModelFilesHidden], embedder.Embed("the cat"));
    }

    private const int TinyModelFilesHidden = RepShift.Cli.Benchmarks.TinyModelFiles.Hidden;

    [Fact]
    public void Prompts_come_from_config_sentence_transformers()
    {
        using var dir = new TempDirectory();
        TinyBert.WriteFolder(dir.Path, TinyBert.Create());
        File.WriteAllText(Path.Combine(dir.Path, "config_sentence_transformers.json"), """
            {"__version__": {"sentence_transformers": "3.0.1"}, "prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": null, "similarity_fn_name": "cosine"}
            """);
        var conventions = ModelLoader.Load(dir.Path).Conventions;
        Assert.Equal(PoolingMode.Mean, conventions.Pooling);
        Assert.Equal("query: ", conventions.PromptText("query", "m"));
        Assert.Equal("query: ", conventions.PromptText("QUERY", "m"));
        Assert.Null(conventions.PromptText(null, "m"));
        Assert.Null(conventions.PromptText("document", "m")); // a retrieval role the model gives no prompt
        Assert.Contains("query, passage", Assert.Throws<OptionException>(() => conventions.PromptText("summary", "m")).Message);

        File.WriteAllText(Path.Combine(dir.Path, "config_sentence_transformers.json"), """{"prompts": {"query": "q: "}, "default_prompt_name": "missing"}""");
        Assert.Contains("default_prompt_name", Assert.Throws<ModelFormatException>(() => ModelLoader.Load(dir.Path)).Message);
    }

    [Fact]
    public void Frozen_compression_pooling_needs_mean_pooling()
    {
        using var dir = new TempDirectory();
        TinyBert.WriteFolder(dir.Path, TinyBert.Create(), pooling: "cls_token");
        var plan = new CompressionPlan { PruneAt = [0], Keep = 0.5, Pooling = CompressionPooling.Frozen };
        var e = Assert.Throws<OptionException>(() => new TextEmbedder(ModelLoader.Load(dir.Path), new EmbedderOptions { Compression = plan, MaxTokens = 32 }));
        Assert.Equal(nameof(CompressionPlan.Pooling), e.Property);
    }

    [Fact]
    public void Built_in_models_carry_their_conventions()
    {
        var arctic = BuiltInModels.Find("Snowflake/snowflake-arctic-embed-xs");
        Assert.Same(BuiltInModels.ArcticXs, arctic);
        Assert.Equal(PoolingMode.Cls, arctic!.Conventions.Pooling);
        Assert.Equal("Represent this sentence for searching relevant passages: ", arctic.Conventions.PromptText("query", arctic.Name));
        Assert.Null(arctic.Conventions.PromptText("document", arctic.Name));
        Assert.Equal(PoolingMode.Mean, BuiltInModels.Find("all-MiniLM-L6-v2")!.Conventions.Pooling);
        Assert.Equal(PoolingMode.Mean, EmbeddedModel.Load().Conventions.Pooling);
        Assert.Contains("arctic-embed-xs", Assert.Throws<ModelFormatException>(() => ModelLoader.Load("no-such-model")).Message);
    }

    private static (int Code, string Output, string Errors) Cli(params string[] args)
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        var savedOut = Console.Out;
        try
        {
            Console.SetOut(output);
            return (RepShift.Cli.Cli.Invoke(RepShift.Cli.Program.CreateRoot(), args, errors), output.ToString(), errors.ToString());
        }
        finally { Console.SetOut(savedOut); }
    }

    [Fact]
    public void Models_lists_both_built_in_models_with_their_conventions()
    {
        var (code, output, errors) = Cli("models", "--json");
        Assert.True(code == 0, errors);
        var models = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToDictionary(m => m.GetProperty("name").GetString()!);
        Assert.Equal("mean", models["all-MiniLM-L6-v2"].GetProperty("pooling").GetString());
        var arctic = models["arctic-embed-xs"];
        Assert.Equal("cls", arctic.GetProperty("pooling").GetString());
        Assert.Equal(384, arctic.GetProperty("dimension").GetInt32());
        Assert.Equal(512, arctic.GetProperty("max_tokens").GetInt32());
        Assert.StartsWith("Represent this sentence", arctic.GetProperty("prompts").GetProperty("query").GetString());
        Assert.True(arctic.GetProperty("available").GetBoolean()); // the CLI ships the package
    }

    [Fact]
    public void The_cli_refuses_an_unstated_pooling_and_takes_embedding_pooling()
    {
        using var dir = new TempDirectory();
        TinyBert.WriteFolder(dir.Path, TinyBert.Create(), pooling: null);
        var (code, _, errors) = Cli("embed", "the cat", "--model", dir.Path, "--max-tokens", "16");
        Assert.Equal(2, code);
        Assert.Contains("--embedding-pooling", errors);
        (code, _, errors) = Cli("embed", "the cat", "--model", dir.Path, "--max-tokens", "16", "--embedding-pooling", "cls", "--output", dir.File("out.jsonl"));
        Assert.True(code == 0, errors);
        Assert.Contains("\"embedding\"", File.ReadAllText(dir.File("out.jsonl")));
        (code, _, errors) = Cli("embed", "the cat", "--model", dir.Path, "--embedding-pooling", "sqrt");
        Assert.Equal(2, code);
        Assert.Contains("last-token", errors);
    }
}
