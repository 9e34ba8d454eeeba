using System.Text.Json;
using RepShift.Cli;
using RepShift.Cluster;
using RepShift.Cluster.Jobs;
using RepShift.Cluster.Outputs;
using CliApp = RepShift.Cli.Cli;

namespace RepShift.Tests;

/// <summary>The local bulk job: shards read back equal to one embed call; a stopped job resumes with only the unfinished shards.</summary>
[Collection(nameof(CliCollection))]
public class LocalJobTests
{
    /// <summary>A folder of 23 documents and a 31-line file: 54 texts, shards of 5 → 5 + 7 = 12 shards.</summary>
    private static (List<string> Inputs, List<(string Id, string Text)> Expected) Corpus(TempDirectory dir)
    {
        var docs = BulkEmbedTests.Texts(23, seed: 8);
        var expected = new List<(string, string)>();
        for (int i = 0; i < docs.Count; i++) dir.Write($"docs/{(i % 2 == 0 ? "even" : "odd")}/{i:D2}.txt", docs[i]);
        string folder = Path.GetFullPath(dir.File("docs"));
        // Folder order is ordinal by relative path: even/… before odd/….
        foreach (int i in Enumerable.Range(0, 23).OrderBy(i => $"{(i % 2 == 0 ? "even" : "odd")}/{i:D2}.txt", StringComparer.Ordinal))
            expected.Add(($"{folder}:{(i % 2 == 0 ? "even" : "odd")}/{i:D2}.txt", docs[i]));
        var lines = BulkEmbedTests.Texts(31, seed: 9);
        string file = Path.GetFullPath(dir.Write("lines.txt", string.Join('\n', lines)));
        for (int i = 0; i < lines.Count; i++) expected.Add(($"{file}:{i}", lines[i]));
        return ([folder, file], expected);
    }

    private static List<EmbeddingParquet.Row> ReadShards(string folder) =>
        [.. Directory.GetFiles(folder, "shard-*.parquet").Order(StringComparer.Ordinal).SelectMany(EmbeddingParquet.ReadAll)];

    [Fact]
    public void Job_output_reads_back_bit_identical_to_embed_and_every_id_once()
    {
        using var dir = new TempDirectory();
        using var embedder = BulkEmbedTests.TinyEmbedder(dir);
        var (inputs, expected) = Corpus(dir);
        var (code, stdout, errors) = Run(["job", "embed", "--input", .. inputs, "--output", dir.File("out"), "--shard-size", "5", .. Model(dir)]);
        Assert.True(code == 0, errors);
        using var summary = JsonDocument.Parse(stdout);
        Assert.Equal(12, summary.RootElement.GetProperty("shards").GetInt32());
        Assert.Equal(0, summary.RootElement.GetProperty("shards_skipped").GetInt32());
        Assert.Equal(54, summary.RootElement.GetProperty("texts_embedded").GetInt64());

        var rows = ReadShards(dir.File("out"));
        Assert.Equal(expected.Select(e => e.Id), rows.Select(r => r.Id));
        var vectors = embedder.Embed(expected.Select(e => e.Text).ToList()).Vectors;
        for (int i = 0; i < rows.Count; i++) Assert.Equal(vectors[i], rows[i].Embedding);
    }

    [Fact]
    public void A_stopped_job_resumes_embedding_only_the_unfinished_shards()
    {
        using var dir = new TempDirectory();
        using var embedder = BulkEmbedTests.TinyEmbedder(dir);
        var (inputs, expected) = Corpus(dir);
        string output = dir.File("out");

        // The first run stops after 4 shards, as a killed process would, and leaves a half-written shard's temporary file.
        var job = LocalJob.Resume(output, JobPlanner.Plan(inputs, 5, "text", EngineSignature.Of(embedder)));
        using var stop = new CancellationTokenSource();
        int finished = 0;
        Assert.ThrowsAny<OperationCanceledException>(() => LocalJob.Run(embedder, job, output, shardDone: _ => { if (++finished == 4) stop.Cancel(); }, cancellation: stop.Token));
        File.WriteAllText(Path.Combine(output, ".shard-000004.parquet.999.tmp"), "half");
        var firstFiles = Directory.GetFiles(output, "shard-*.parquet").Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(4, firstFiles.Length);
        var written = firstFiles.Select(File.GetLastWriteTimeUtc).ToArray();

        var (code, stdout, errors) = Run(["job", "embed", "--input", .. inputs, "--output", output, "--shard-size", "5", .. Model(dir)]);
        Assert.True(code == 0, errors);
        using var summary = JsonDocument.Parse(stdout);
        Assert.Equal(4, summary.RootElement.GetProperty("shards_skipped").GetInt32());
        Assert.Equal(8, summary.RootElement.GetProperty("shards_embedded").GetInt32());
        Assert.Equal(54 - 4 * 5, summary.RootElement.GetProperty("texts_embedded").GetInt64());
        Assert.Equal(written, firstFiles.Select(File.GetLastWriteTimeUtc));
        Assert.Empty(Directory.GetFiles(output, "*.tmp"));

        var rows = ReadShards(output);
        Assert.Equal(expected.Select(e => e.Id), rows.Select(r => r.Id));
        var vectors = embedder.Embed(expected.Select(e => e.Text).ToList()).Vectors;
        for (int i = 0; i < rows.Count; i++) Assert.Equal(vectors[i], rows[i].Embedding);

        // A third run finds everything done.
        (code, stdout, errors) = Run(["job", "embed", "--input", .. inputs, "--output", output, "--shard-size", "5", .. Model(dir)]);
        Assert.True(code == 0, errors);
        using var again = JsonDocument.Parse(stdout);
        Assert.Equal(12, again.RootElement.GetProperty("shards_skipped").GetInt32());
        Assert.Equal(0, again.RootElement.GetProperty("texts_embedded").GetInt64());
    }

    [Fact]
    public void A_folder_of_another_engine_or_shard_size_is_refused()
    {
        using var dir = new TempDirectory();
        using var embedder = BulkEmbedTests.TinyEmbedder(dir);
        var (inputs, _) = Corpus(dir);
        string output = dir.File("out");
        Assert.Equal(0, Run(["job", "embed", "--input", inputs[1], "--output", output, "--shard-size", "5", .. Model(dir)]).Code);
        var (code, _, errors) = Run(["job", "embed", "--input", inputs[1], "--output", output, "--shard-size", "5", .. Model(dir), "--prune-at", "0", "--keep", "0.5"]);
        Assert.Equal(2, code);
        Assert.Contains("holds another job's output: it was embedded with another engine (compression plan dense vs", errors, StringComparison.Ordinal);
        (code, _, errors) = Run(["job", "embed", "--input", inputs[1], "--output", output, "--shard-size", "6", .. Model(dir)]);
        Assert.Equal(2, code);
        Assert.Contains("its shard size is 5, not 6", errors, StringComparison.Ordinal);
    }

    private static string[] Model(TempDirectory dir) => ["--model", dir.File("tiny"), "--max-tokens", "16", "--batch", "4", "--threads", "1"];

    private static (int Code, string Stdout, string Errors) Run(string[] args)
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        var savedOut = Console.Out;
        var savedErr = Console.Error;
        try
        {
            Console.SetOut(output);
            Console.SetError(errors);
            int code = CliApp.Invoke(Program.CreateRoot(), args, errors);
            return (code, output.ToString(), errors.ToString());
        }
        finally
        {
            Console.SetOut(savedOut);
            Console.SetError(savedErr);
        }
    }
}
