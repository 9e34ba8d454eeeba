using System.Text.Json;
using RepShift.Cli;
using RepShift.Embeddings;
using CliApp = RepShift.Cli.Cli;

namespace RepShift.Tests;

/// <summary><c>embed --dimensions/--encoding</c> and <c>calibrate-encoding</c> on a tiny generated model.</summary>
[Collection(nameof(CliCollection))]
public class VectorCommandTests
{
    private static readonly string[] Texts = ["the cat sat on the mat", "a dog", "cats and dogs sat", "the mat"];

    private static (int Code, string Output, string Errors) Run(params string[] args)
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        var saved = Console.Out;
        try
        {
            Console.SetOut(output);
            return (CliApp.Invoke(Program.CreateRoot(), args, errors), output.ToString(), errors.ToString());
        }
        finally { Console.SetOut(saved); }
    }

    private static List<JsonElement> Lines(string path) =>
        [.. File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    [Fact]
    public void EmbedShortensAndEncodesWithRangesFromTheModelFolder()
    {
        using var dir = new TempDirectory();
        string model = dir.File("tiny");
        new RepShift.Cli.Benchmarks.TinyModelFiles().WriteFolder(model);
        string corpus = dir.Write("corpus.txt", string.Join("\n", Texts));
        string[] common = ["--model", model, "--max-tokens", "16", "--threads", "1"];

        var (code, _, errors) = Run(["embed", .. Texts, .. common, "-o", dir.File("full.jsonl")]);
        Assert.True(code == 0, errors);
        var full = Lines(dir.File("full.jsonl")).Select(l => l.GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray()).ToArray();
        Assert.Equal(TinyModelFilesHidden, full[0].Length);

        (code, _, errors) = Run(["embed", .. Texts, .. common, "--dimensions", "4", "-o", dir.File("float4.jsonl")]);
        Assert.True(code == 0, errors);
        var float4 = Lines(dir.File("float4.jsonl"));
        for (int i = 0; i < Texts.Length; i++)
        {
            Assert.Equal(4, float4[i].GetProperty("dimensions").GetInt32());
            Assert.Equal("float", float4[i].GetProperty("encoding").GetString());
            Assert.Equal(Matryoshka.Truncate(full[i], 4), float4[i].GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray());
        }

        // int8 without ranges is refused; calibrate-encoding writes them beside the model's settings, where embed finds them.
        (code, _, errors) = Run(["embed", .. Texts, .. common, "--dimensions", "4", "--encoding", "int8"]);
        Assert.Equal(2, code);
        Assert.Contains("calibrate-encoding", errors, StringComparison.Ordinal);
        (code, _, errors) = Run(["calibrate-encoding", "--data", corpus, .. common, "--dimensions", "4"]);
        Assert.True(code == 0, errors);
        var ranges = Int8Ranges.Load(Path.Combine(model, VectorOptions.RangesFileName(4)));
        Assert.Equal(4, ranges.Dimension);
        (code, _, errors) = Run(["embed", .. Texts, .. common, "--dimensions", "4", "--encoding", "int8", "-o", dir.File("int8.jsonl")]);
        Assert.True(code == 0, errors);
        var int8 = Lines(dir.File("int8.jsonl"));
        for (int i = 0; i < Texts.Length; i++)
            Assert.Equal(ranges.Quantize(Matryoshka.Truncate(full[i], 4)), int8[i].GetProperty("embedding").EnumerateArray().Select(x => (sbyte)x.GetInt32()).ToArray());
        // The folder's ranges are for 4 dimensions; at 8 there is no file, and an explicit file for 4 is refused.
        (code, _, errors) = Run(["embed", .. Texts, .. common, "--encoding", "int8", "--int8-ranges", Path.Combine(model, VectorOptions.RangesFileName(4))]);
        Assert.Equal(2, code);
        Assert.Contains("calibrated at 4 dimensions, not 8", errors, StringComparison.Ordinal);

        (code, _, errors) = Run(["embed", .. Texts, .. common, "--encoding", "binary", "-o", dir.File("bits.jsonl")]);
        Assert.True(code == 0, errors);
        var bits = Lines(dir.File("bits.jsonl"));
        for (int i = 0; i < Texts.Length; i++)
            Assert.Equal(BinaryCodes.Pack(full[i]), bits[i].GetProperty("embedding").EnumerateArray().Select(x => (byte)x.GetInt32()).ToArray());

        // A binary projection written beside the model's settings is taken by default; only binary takes one.
        (code, _, errors) = Run(["calibrate-encoding", "--encoding", "binary", "--data", corpus, .. common, "--dimensions", "4"]);
        Assert.True(code == 0, errors);
        var projection = BinaryProjection.Load(Path.Combine(model, VectorOptions.ProjectionFileName(4)));
        Assert.Equal((4, Texts.Length), (projection.Dimension, projection.Texts));
        (code, _, errors) = Run(["embed", .. Texts, .. common, "--dimensions", "4", "--encoding", "binary", "-o", dir.File("itq.jsonl")]);
        Assert.True(code == 0, errors);
        var itq = Lines(dir.File("itq.jsonl"));
        for (int i = 0; i < Texts.Length; i++)
            Assert.Equal(projection.Pack(Matryoshka.Truncate(full[i], 4)), itq[i].GetProperty("embedding").EnumerateArray().Select(x => (byte)x.GetInt32()).ToArray());
        // With --queries the projection gets query thresholds, and embed --prompt query takes them (documents keep theirs).
        string queries = dir.Write("queries.txt", "cat\nmat dog\nsat on a mat\ndogs\nthe");
        (code, _, errors) = Run(["calibrate-encoding", "--encoding", "binary", "--data", corpus, "--queries", queries, .. common, "--dimensions", "4", "-o", dir.File("q4.json")]);
        Assert.True(code == 0, errors);
        var withQueries = BinaryProjection.Load(dir.File("q4.json"));
        Assert.Equal(5, withQueries.QueryTexts);
        string[] projectionOption = ["--dimensions", "4", "--encoding", "binary", "--binary-projection", dir.File("q4.json")];
        (code, _, errors) = Run(["embed", .. Texts, .. common, .. projectionOption, "--prompt", "query", "-o", dir.File("q.jsonl")]);
        Assert.True(code == 0, errors);
        (code, _, errors) = Run(["embed", .. Texts, .. common, .. projectionOption, "-o", dir.File("d.jsonl")]);
        Assert.True(code == 0, errors);
        var (queryBits, documentBits) = (Lines(dir.File("q.jsonl")), Lines(dir.File("d.jsonl")));
        for (int i = 0; i < Texts.Length; i++)
        {
            Assert.Equal(withQueries.Pack(Matryoshka.Truncate(full[i], 4), query: true), queryBits[i].GetProperty("embedding").EnumerateArray().Select(x => (byte)x.GetInt32()).ToArray());
            Assert.Equal(withQueries.Pack(Matryoshka.Truncate(full[i], 4)), documentBits[i].GetProperty("embedding").EnumerateArray().Select(x => (byte)x.GetInt32()).ToArray());
        }
        Assert.True(Enumerable.Range(0, Texts.Length).Any(i => !withQueries.Pack(Matryoshka.Truncate(full[i], 4), query: true).SequenceEqual(withQueries.Pack(Matryoshka.Truncate(full[i], 4)))),
            "the query thresholds should change some text's bits, or the test cannot tell them apart");
        (code, _, errors) = Run(["calibrate-encoding", "--data", corpus, "--queries", queries, .. common]);
        Assert.Equal(2, code);
        Assert.Contains("--queries calibrates the query thresholds of a binary projection", errors, StringComparison.Ordinal);

        (code, _, errors) = Run(["embed", .. Texts, .. common, "--binary-projection", Path.Combine(model, VectorOptions.ProjectionFileName(4))]);
        Assert.Equal(2, code);
        Assert.Contains("--binary-projection is only used with --encoding binary", errors, StringComparison.Ordinal);
        (code, _, errors) = Run(["embed", .. Texts, .. common, "--encoding", "binary", "--binary-projection", Path.Combine(model, VectorOptions.ProjectionFileName(4))]);
        Assert.Equal(2, code);
        Assert.Contains("was calibrated at 4 dimensions, not 8", errors, StringComparison.Ordinal);
    }

    [Fact]
    public void CalibrationEmbedsDocumentsWithTheDocumentPromptAndQueriesWithTheQueryPrompt()
    {
        using var dir = new TempDirectory();
        string model = dir.File("tiny");
        new RepShift.Cli.Benchmarks.TinyModelFiles().WriteFolder(model);
        File.WriteAllText(Path.Combine(model, "config_sentence_transformers.json"), """{"prompts": {"query": "on the mat ", "document": "a dog "}, "default_prompt_name": null}""");
        string corpus = dir.Write("corpus.txt", string.Join("\n", Texts));
        string queries = dir.Write("queries.txt", "cat\nmat dog\nsat on a mat");
        string[] common = ["--model", model, "--max-tokens", "16", "--threads", "1"];
        float[][] Embed(string file, string? prompt)
        {
            var (code, _, errors) = Run(["embed", "--input", file, .. common, .. prompt is null ? Array.Empty<string>() : ["--prompt", prompt], "-o", dir.File("v.jsonl")]);
            Assert.True(code == 0, errors);
            return [.. Lines(dir.File("v.jsonl")).Select(l => l.GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray())];
        }

        // int8 ranges: those of the documents as embedded for storing, with the document prompt.
        var (status, _, stderr) = Run(["calibrate-encoding", "--data", corpus, .. common, "-o", dir.File("r.json")]);
        Assert.True(status == 0, stderr);
        var ranges = Int8Ranges.Load(dir.File("r.json"));
        var documents = Int8Ranges.Calibrate("tiny", Embed(corpus, "document"));
        Assert.Equal(documents.Min, ranges.Min);
        Assert.Equal(documents.Max, ranges.Max);
        Assert.NotEqual(Int8Ranges.Calibrate("tiny", Embed(corpus, null)).Max, ranges.Max); // the prompt must matter, or the test shows nothing

        // Query thresholds: medians of the queries as embedded with the query prompt.
        (status, _, stderr) = Run(["calibrate-encoding", "--encoding", "binary", "--data", corpus, "--queries", queries, .. common, "-o", dir.File("p.json")]);
        Assert.True(status == 0, stderr);
        var projection = BinaryProjection.Load(dir.File("p.json"));
        var expected = Evaluation.IterativeQuantization.WithQueryThresholds(projection, Embed(queries, "query"));
        Assert.Equal(expected.QueryThresholds, projection.QueryThresholds);
        Assert.NotEqual(Evaluation.IterativeQuantization.WithQueryThresholds(projection, Embed(queries, null)).QueryThresholds, projection.QueryThresholds);
    }

    [Theory]
    [InlineData("9", "9 dimensions requested: tiny gives 8, so ask for 1 to 8")]
    [InlineData("0", "--dimensions 0 is out of range")]
    public void DimensionsBeyondTheModelAreOneErrorLine(string dims, string expected)
    {
        using var dir = new TempDirectory();
        new RepShift.Cli.Benchmarks.TinyModelFiles().WriteFolder(dir.File("tiny"));
        var (code, _, errors) = Run("embed", "the cat", "--model", dir.File("tiny"), "--max-tokens", "16", "--dimensions", dims);
        Assert.Equal(2, code);
        Assert.StartsWith("error: ", errors, StringComparison.Ordinal);
        Assert.Contains(expected, errors, StringComparison.Ordinal);
    }

    private const int TinyModelFilesHidden = RepShift.Cli.Benchmarks.TinyModelFiles.Hidden;
}
