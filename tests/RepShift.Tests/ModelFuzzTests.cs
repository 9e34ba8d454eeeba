using CsCheck;
using Google.Protobuf;
using RepShift.Cli.Benchmarks;
using RepShift.Loading;
using RepShift.Loading.Onnx.Proto;

namespace RepShift.Tests;

/// <summary>
/// Byte-level mutations of a tiny model's files (safetensors folder and ONNX) give only the engine's own load
/// errors: no other exception type and no allocation beyond a bound linear in the files' size. CsCheck prints
/// the seed of a failing case; the same cases at scale: <c>repshift bench fuzz-models --cases 100000</c>.
/// </summary>
public class ModelFuzzTests
{
    private static readonly TinyModelFiles Files = new();

    [Fact]
    public void The_tiny_files_load_and_both_formats_agree()
    {
        using var dir = new TempDirectory();
        Files.WriteFolder(dir.Path);
        File.WriteAllBytes(dir.File("model.onnx"), Files.Onnx);
        var folder = new TextEmbedder(HuggingFaceFolder.Load(dir.Path), new EmbedderOptions { MaxTokens = 8 });
        var onnx = new TextEmbedder(ModelLoader.Load(dir.File("model.onnx")), new EmbedderOptions { MaxTokens = 8 });
        Assert.Equal(TinyModelFiles.Layers, onnx.Encoder.Config.Layers);
        Assert.Equal(TinyModelFiles.Heads, onnx.Encoder.Config.Heads);
        var a = folder.Embed("the cat sat on the mat");
        var b = onnx.Embed("the cat sat on the mat");
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 1e-5f);
    }

    [Fact]
    public void Mutated_model_files_give_only_load_errors()
    {
        using var dir = new TempDirectory();
        var fuzzer = new ModelFileFuzzer(Files, dir.Path);
        int loaded = 0, refused = 0;
        Gen.Select(Gen.Enum<FuzzTarget>(), Gen.Enum<FuzzMutation>(), Gen.Int, (t, m, s) => new FuzzCase(t, m, s))
            .Sample(c =>
            {
                var result = fuzzer.Run(c);
                Assert.True(result.Outcome != FuzzOutcome.Failed, $"{c}: {result.Detail}");
                if (result.Outcome == FuzzOutcome.Loaded) loaded++;
                else refused++;
            }, iter: 2000, threads: 1, print: c => c.ToString());
        // Both outcomes occur, so the mutations neither all miss the checks nor all break the files at once.
        Assert.True(loaded > 0 && refused > 0, $"{loaded} loaded, {refused} refused");
    }

    [Fact]
    public void A_huge_layer_count_is_refused_before_it_is_allocated()
    {
        using var dir = new TempDirectory();
        Files.WriteFolder(dir.Path);
        string config = File.ReadAllText(dir.File("config.json")).Replace("\"num_hidden_layers\":2", "\"num_hidden_layers\":2000000000", StringComparison.Ordinal);
        File.WriteAllText(dir.File("config.json"), config);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ModelFormatException>(() => HuggingFaceFolder.Load(dir.Path));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < ModelFileFuzzer.AllocationLimit(Files.Weights.Length), "the layer array was allocated");
        Assert.Contains("num_hidden_layers 2000000000", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_huge_vit_layer_count_is_refused_before_it_is_allocated()
    {
        using var dir = new TempDirectory();
        var config = new RepShift.Vision.ViTConfig
        {
            ImageSize = 8,
            PatchSize = 4,
            Channels = 1,
            Hidden = 8,
            Layers = 2,
            Heads = 2,
            Intermediate = 16,
            NumLabels = 3,
            LayerNormEps = 1e-6f,
            ImageMean = [0.5f],
            ImageStd = [0.5f],
            Labels = ["a", "b", "c"],
        };
        HuggingFaceVit.Save(RepShift.Training.VitTrainer.Initialize(config, 1), dir.Path);
        string text = File.ReadAllText(dir.File("config.json"));
        string edited = System.Text.RegularExpressions.Regex.Replace(text, "\"num_hidden_layers\":\\s*2", "\"num_hidden_layers\": 2000000000");
        Assert.NotEqual(text, edited);
        File.WriteAllText(dir.File("config.json"), edited);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<ModelFormatException>(() => HuggingFaceVit.Load(dir.Path));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64L << 20, "the layer array was allocated");
    }

    [Theory]
    [InlineData("no inputs")]
    [InlineData("no outputs")]
    [InlineData("cycle")]
    [InlineData("huge dims")]
    public void Broken_onnx_graphs_are_load_errors(string edit)
    {
        var model = ModelProto.Parser.ParseFrom(Files.Onnx);
        var g = model.Graph;
        switch (edit)
        {
            case "no inputs":
                foreach (var n in g.Node.Where(n => n.OpType == "Add")) n.Input.Clear();
                break;
            case "no outputs":
                foreach (var n in g.Node.Where(n => n.OpType == "Gather")) n.Output.Clear();
                break;
            case "cycle":
                // The embedding sum's first Add consumes its own output: a walk along Adds would never end.
                var add = g.Node.First(n => n.OpType == "Add");
                add.Output[0] = "loop";
                add.Input[0] = "loop";
                g.Node.First(n => n.OpType == "Gather" && n.Input[1] == "input_ids").Output[0] = "loop";
                break;
            default:
                g.Initializer.First(t => t.Name == "embeddings.word_embeddings.weight").Dims[0] = long.MaxValue;
                break;
        }
        var e = Record.Exception(() => OnnxBertImporter.Import(new MemoryStream(model.ToByteArray()), "broken.onnx"));
        Assert.IsType<ModelFormatException>(e);
        if (edit == "cycle") Assert.Contains("cycle", e.Message, StringComparison.Ordinal);
    }
}
