using System.Numerics.Tensors;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using RepShift.Loading;
using RepShift.Loading.Onnx.Proto;

namespace RepShift.Tests;

/// <summary>The embedded all-MiniLM-L6-v2 through RepShift against ONNX Runtime, and the encoder's invariances and errors.</summary>
public class EncoderTests
{
    private static readonly Lazy<TextEmbedder> Embedder = new(() => TextEmbedder.Load());

    private static readonly string[] Texts =
    [
        "A man is playing a guitar.", "ok", "The quick brown fox jumps over the lazy dog, twice, and then naps.",
        "Numbers 3.14 and 2,718 with punctuation!!!", "Ελληνικά και English μαζί", string.Join(" ", Enumerable.Repeat("long", 300)),
    ];

    [Fact]
    public void ImportedModelMatchesOnnxRuntime()
    {
        var embedder = Embedder.Value;
        var ids = Texts.Select(t => embedder.Tokenize(t).Ids).ToList();
        var ours = embedder.Encoder.HiddenStates(ids);
        using var stream = EmbeddedModel.OpenOnnx();
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        using var session = new InferenceSession(memory.ToArray());
        for (int s = 0; s < ids.Count; s++)
        {
            int n = ids[s].Length;
            var input = new DenseTensor<long>(ids[s].Select(i => (long)i).ToArray(), [1, n]);
            var mask = new DenseTensor<long>(Enumerable.Repeat(1L, n).ToArray(), [1, n]);
            var types = new DenseTensor<long>(new long[n], [1, n]);
            using var results = session.Run(
            [
                NamedOnnxValue.CreateFromTensor("input_ids", input),
                NamedOnnxValue.CreateFromTensor("attention_mask", mask),
                NamedOnnxValue.CreateFromTensor("token_type_ids", types),
            ]);
            var expected = results.First(r => r.Name == "last_hidden_state").AsEnumerable<float>().ToArray();
            Assert.Equal(expected.Length, ours[s].Length);
            float maxDiff = 0;
            for (int i = 0; i < expected.Length; i++) maxDiff = Math.Max(maxDiff, Math.Abs(expected[i] - ours[s][i]));
            Assert.True(maxDiff <= 1e-4f, $"text {s}: max |Δ| = {maxDiff}");
        }
    }

    [Fact]
    public void ImportedConfigIsMiniLM()
    {
        var c = Embedder.Value.Encoder.Config;
        Assert.Equal((30522, 384, 6, 12, 1536, 512, 2, 1e-12f), (c.VocabSize, c.Hidden, c.Layers, c.Heads, c.Intermediate, c.MaxPositions, c.TypeVocabSize, c.LayerNormEps));
    }

    [Fact]
    public void EmbeddingDoesNotDependOnBatchOrPosition()
    {
        var alone = Texts.Select(t => Embedder.Value.Embed(t)).ToArray();
        var shuffled = new[] { 3, 0, 5, 1, 4, 2 };
        var together = Embedder.Value.Embed(shuffled.Select(i => Texts[i]).ToList()).Vectors;
        for (int i = 0; i < shuffled.Length; i++) Assert.Equal(alone[shuffled[i]], together[i]);

        var small = new TextEmbedder(EmbeddedModel.Load(), new EmbedderOptions { BatchSize = 4 });
        var batched = small.Embed([.. Texts, .. Texts]).Vectors;
        for (int i = 0; i < batched.Length; i++) Assert.Equal(alone[i % Texts.Length], batched[i]);
    }

    [Fact]
    public void BatchesAreFormedByTokenCountWithoutChangingResults()
    {
        var texts = Texts.Concat(Texts.Select(t => t + " " + t)).ToList();
        var ids = texts.Select(t => Embedder.Value.Tokenize(t).Ids).ToList();
        var whole = Embedder.Value.Embed(texts);
        // A budget below the longest text: that text goes alone, the others share batches up to the budget.
        int budget = ids.Max(x => x.Length) - 1;
        var byTokens = new TextEmbedder(EmbeddedModel.Load(), new EmbedderOptions { BatchTokens = budget });
        var batches = new List<int>();
        var result = byTokens.Embed(texts, new SyncProgress(batches.Add));
        for (int i = 0; i < texts.Count; i++) Assert.Equal(whole.Vectors[i], result.Vectors[i]);
        Assert.Equal(whole.TokenLayers, result.TokenLayers);
        Assert.Equal(texts.Count, batches[^1]);
        for (int b = 0; b < batches.Count; b++)
        {
            int from = b == 0 ? 0 : batches[b - 1];
            int sum = ids.Skip(from).Take(batches[b] - from).Sum(x => x.Length);
            Assert.True(batches[b] - from == 1 || sum <= budget, $"batch {b} holds {sum} tokens, budget {budget}");
            if (batches[b] < texts.Count) Assert.True(sum + ids[batches[b]].Length > budget, $"batch {b} closed early");
        }
        Assert.Equal("BatchTokens", Assert.Throws<OptionException>(() => new TextEmbedder(EmbeddedModel.Load(), new EmbedderOptions { BatchTokens = 0 })).Property);
    }

    private sealed class SyncProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }

    [Fact]
    public void EmbeddingsAreNormalisedAndMeaningful()
    {
        var v = Embedder.Value.Embed(["A man is playing a guitar.", "Someone plays an instrument.", "The stock market fell sharply today."]).Vectors;
        foreach (var x in v) Assert.Equal(1f, TensorPrimitives.Norm<float>(x), 1e-5f);
        Assert.True(TensorPrimitives.CosineSimilarity(v[0], v[1]) > TensorPrimitives.CosineSimilarity(v[0], v[2]) + 0.2f);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void EmptyTextIsAClearError(string text)
    {
        var e = Assert.Throws<RepShiftException>(() => Embedder.Value.Embed(["fine", text]));
        Assert.Contains("text 1 is empty", e.Message);
    }

    [Fact]
    public void BadOptionsAreClearErrors()
    {
        Assert.Equal("MaxTokens", Assert.Throws<OptionException>(() => new TextEmbedder(EmbeddedModel.Load(), new EmbedderOptions { MaxTokens = 513 })).Property);
        Assert.Equal("BatchSize", Assert.Throws<OptionException>(() => new TextEmbedder(EmbeddedModel.Load(), new EmbedderOptions { BatchSize = 0 })).Property);
        Assert.Contains("BatchSize must be ≥ 1", Assert.Throws<OptionException>(() => new TextEmbedder(EmbeddedModel.Load(), new EmbedderOptions { BatchSize = 0 })).Message);
        Assert.Equal("Threads", Assert.Throws<OptionException>(() => new TextEmbedder(EmbeddedModel.Load(), new EmbedderOptions { Threads = -1 })).Property);
    }

    [Fact]
    public void MissingModelIsAClearError()
    {
        var e = Assert.Throws<ModelFormatException>(() => ModelLoader.Load("/nonexistent/model.onnx"));
        Assert.Contains("/nonexistent/model.onnx", e.Message);
    }

    [Fact]
    public void TruncatedOnnxFileIsAClearError()
    {
        using var stream = EmbeddedModel.OpenOnnx();
        var bytes = new byte[stream.Length / 3];
        stream.ReadExactly(bytes);
        var e = Assert.Throws<ModelFormatException>(() => OnnxBertImporter.Import(new MemoryStream(bytes), "cut.onnx"));
        Assert.Contains("cut.onnx", e.Message);
    }

    [Fact]
    public void OnnxFileBesideMissingVocabIsAClearError()
    {
        string dir = Directory.CreateTempSubdirectory("repshift-onnx").FullName;
        try
        {
            string path = Path.Combine(dir, "model.onnx");
            using (var file = File.Create(path)) EmbeddedModel.OpenOnnx().CopyTo(file);
            Assert.Contains("vocab.txt", Assert.Throws<ModelFormatException>(() => ModelLoader.Load(path)).Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void GraphThatIsNotBertIsAClearError()
    {
        var graph = new GraphProto { Name = "relu" };
        graph.Input.Add(new ValueInfoProto { Name = "x" });
        graph.Output.Add(new ValueInfoProto { Name = "y" });
        graph.Node.Add(new NodeProto { OpType = "Relu", Name = "r", Input = { "x" }, Output = { "y" } });
        var bytes = new ModelProto { IrVersion = 7, Graph = graph }.ToByteArray();
        var e = Assert.Throws<ModelFormatException>(() => OnnxBertImporter.Import(new MemoryStream(bytes), "relu.onnx"));
        Assert.Contains("input_ids", e.Message);

        // input_ids present but feeding something other than an embedding lookup.
        graph.Input[0].Name = "input_ids";
        graph.Node[0].Input[0] = "input_ids";
        bytes = new ModelProto { IrVersion = 7, Graph = graph }.ToByteArray();
        e = Assert.Throws<ModelFormatException>(() => OnnxBertImporter.Import(new MemoryStream(bytes), "relu.onnx"));
        Assert.Contains("Gather", e.Message);
        Assert.Contains("Relu", e.Message);
    }
}
