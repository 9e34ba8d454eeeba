using System.Text;
using Parquet;
using Parquet.Schema;
using RepShift.Cli;
using RepShift.Cli.Benchmarks;
using RepShift.Cluster;
using RepShift.Cluster.Inputs;
using RepShift.Cluster.Outputs;
using CliApp = RepShift.Cli.Cli;

namespace RepShift.Tests;

/// <summary>Streaming embed: every input format, both writers, chunked output equal bit for bit to one call over all texts.</summary>
[Collection(nameof(CliCollection))]
public class BulkEmbedTests
{
    private static readonly string[] Words = ["the", "a", "cat", "dog", "sat", "on", "mat", "hello", "world", "cats", "sing", ".", ","];

    /// <summary>Texts of 1–12 words from the tiny model's vocabulary, varied so batches differ in length.</summary>
    internal static List<string> Texts(int count, int seed = 3)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => string.Join(' ', Enumerable.Range(0, rng.Next(1, 13)).Select(_ => Words[rng.Next(Words.Length)])))];
    }

    internal static TextEmbedder TinyEmbedder(TempDirectory dir, int batch = 5)
    {
        string folder = dir.File("tiny");
        if (!Directory.Exists(folder)) new TinyModelFiles().WriteFolder(folder);
        return TextEmbedder.Load(folder, new EmbedderOptions { MaxTokens = 16, BatchSize = batch, Threads = 1 });
    }

    [Fact]
    public void Chunked_streaming_equals_one_call_bit_for_bit_in_input_order()
    {
        using var dir = new TempDirectory();
        using var embedder = TinyEmbedder(dir);
        var texts = Texts(53);
        var expected = embedder.Embed(texts);
        string path = dir.File("out.parquet");
        var done = new List<long>();
        using (var writer = new ParquetEmbeddingWriter(path, embedder.Dimension))
        {
            var totals = StreamingEmbedder.Run(embedder, texts.Select((t, i) => new InputRecord($"r{i}", t)), writer, done.Add, chunk: 7);
            writer.Complete();
            Assert.Equal(53, totals.Texts);
            Assert.Equal(expected.TotalTokens, totals.Tokens);
            Assert.Equal(expected.TotalTokenLayers, totals.TokenLayers);
        }
        Assert.Equal([7, 14, 21, 28, 35, 42, 49, 53], done);
        var rows = EmbeddingParquet.ReadAll(path);
        Assert.Equal(53, rows.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            Assert.Equal($"r{i}", rows[i].Id);
            Assert.Equal(expected.Vectors[i], rows[i].Embedding);
            Assert.Equal(expected.Tokens[i], rows[i].Tokens);
            Assert.Equal(expected.TokenLayers[i], rows[i].TokenLayers);
        }
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public void A_writer_disposed_without_completing_leaves_no_file()
    {
        using var dir = new TempDirectory();
        using var embedder = TinyEmbedder(dir);
        foreach (string name in new[] { "a.parquet", "a.jsonl" })
        {
            using (var writer = EmbeddingWriter.Create(dir.File(name), embedder.Dimension, includeIds: true))
            {
                var records = new[] { new InputRecord("x", "the cat") };
                writer.Write(records, 0, embedder.Embed(["the cat"]));
            }
            Assert.False(File.Exists(dir.File(name)));
            Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
        }
    }

    [Fact]
    public void An_empty_text_is_named_by_its_number_and_id()
    {
        using var dir = new TempDirectory();
        using var embedder = TinyEmbedder(dir);
        using var writer = new JsonLinesEmbeddingWriter(dir.File("o.jsonl"), includeIds: true);
        var records = new[] { new InputRecord("a", "the cat"), new InputRecord("doc/b.txt", "  ") };
        var e = Assert.Throws<RepShiftException>(() => StreamingEmbedder.Run(embedder, records, writer));
        Assert.StartsWith("text 2 (id \"doc/b.txt\") is empty", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lines_keep_lone_CR_drop_CRLF_and_BOM_and_read_from_any_offset()
    {
        using var dir = new TempDirectory();
        var bytes = new List<byte>(Encoding.UTF8.GetPreamble());
        var lines = new List<string>();
        for (int i = 0; i < 25; i++) lines.Add(i == 4 ? "a\rb" : $"line {i} ünïcode");
        for (int i = 0; i < lines.Count; i++) bytes.AddRange(Encoding.UTF8.GetBytes(lines[i] + (i % 2 == 0 ? "\r\n" : "\n")));
        string path = dir.WriteBytes("t.txt", [.. bytes]);
        var source = InputSource.Open(path);
        Assert.Equal(InputFormat.Lines, source.Format);
        var all = source.Read().ToList();
        Assert.Equal(lines, all.Select(r => r.Text));
        Assert.Equal(Enumerable.Range(0, 25).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), all.Select(r => r.Id));

        var (count, offsets) = source.LineIndex(every: 10);
        Assert.Equal(25, count);
        Assert.Equal(3, offsets.Count);
        for (int s = 0; s < offsets.Count; s++)
            Assert.Equal(all.Skip(10 * s).Take(10), source.Read(10 * s, 10, offsets[s]));
        Assert.Equal(25, source.CountRecords());
    }

    [Fact]
    public void Line_index_of_a_file_ending_on_a_shard_boundary_has_no_empty_shard()
    {
        using var dir = new TempDirectory();
        var source = InputSource.Open(dir.Write("t.txt", string.Concat(Enumerable.Range(0, 20).Select(i => $"x{i}\n"))));
        var (count, offsets) = source.LineIndex(every: 10);
        Assert.Equal(20, count);
        Assert.Equal(2, offsets.Count);
        var unterminated = InputSource.Open(dir.Write("u.txt", "a\nb"));
        Assert.Equal(2, unterminated.LineIndex(10).Lines);
    }

    [Fact]
    public void Invalid_UTF8_in_lines_is_an_error_naming_the_file()
    {
        using var dir = new TempDirectory();
        string path = dir.WriteBytes("bad.txt", [.. "good\n"u8, 0xA3, .. "10\n"u8]);
        var e = Assert.Throws<RepShiftException>(() => InputSource.Open(path).Read().ToList());
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("UTF-8", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_lines_take_string_or_number_ids_skip_blank_lines_and_name_bad_lines()
    {
        using var dir = new TempDirectory();
        var source = InputSource.Open(dir.Write("d.jsonl", "{\"id\":\"a\",\"text\":\"the cat\"}\n\n{\"text\":\"a dog\",\"id\":7}\n{\"text\":\"sat\"}\n"));
        Assert.Equal(InputFormat.JsonLines, source.Format);
        Assert.Equal([new("a", "the cat"), new("7", "a dog"), new("3", "sat")], source.Read().ToList());

        var e = Assert.Throws<RepShiftException>(() => InputSource.Open(dir.Write("e.jsonl", "{\"id\":1,\"text\":\"x\"}\n{\"id\":2}\n")).Read().ToList());
        Assert.Equal($"{dir.File("e.jsonl")}: line 2 has no \"text\" field", e.Message);
        e = Assert.Throws<RepShiftException>(() => InputSource.Open(dir.Write("f.jsonl", "{\"text\":")).Read().ToList());
        Assert.StartsWith($"{dir.File("f.jsonl")}: line 1 is not valid JSON", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Parquet_input_reads_the_named_text_column_and_ids_across_row_groups()
    {
        using var dir = new TempDirectory();
        string path = dir.File("in.parquet");
        var id = new DataField<string>("id");
        var body = new DataField<string>("body");
        await using (var stream = File.Create(path))
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(id, body), stream))
        {
            foreach (var (from, to) in new[] { (0, 4), (4, 9) })
            {
                using var group = writer.CreateRowGroup();
                await group.WriteAsync(id, Enumerable.Range(from, to - from).Select(i => $"id{i}").ToArray());
                await group.WriteAsync(body, Enumerable.Range(from, to - from).Select(i => $"text {i}").ToArray());
            }
        }
        var source = InputSource.Open(path, textColumn: "body");
        Assert.Equal(InputFormat.Parquet, source.Format);
        Assert.Equal(9, source.CountRecords());
        var all = source.Read().ToList();
        Assert.Equal(Enumerable.Range(0, 9).Select(i => new InputRecord($"id{i}", $"text {i}")), all);
        Assert.Equal(all.Skip(3).Take(4), source.Read(3, 4));

        var e = Assert.Throws<RepShiftException>(() => InputSource.Open(path).Read().ToList());
        Assert.Equal($"{path}: no column \"text\" (columns: id, body); name the text column with --text-column", e.Message);
    }

    [Fact]
    public void A_folder_gives_one_document_per_txt_file_by_relative_path_skipping_notes_and_recoding_latin1()
    {
        using var dir = new TempDirectory();
        dir.Write("docs/b/2.txt", "the dog\n");
        dir.Write("docs/a/1.txt", "the cat");
        dir.Write("docs/SOURCE.txt", "where the files come from");
        dir.Write("docs/a/skip.md", "not a text file");
        dir.Write("docs/.hidden/3.txt", "hidden");
        dir.WriteBytes("docs/b/10.txt", [.. "costs "u8, 0xA3, .. "5"u8]);
        var source = InputSource.Open(dir.File("docs"));
        Assert.Equal(InputFormat.Folder, source.Format);
        Assert.Equal([new("a/1.txt", "the cat"), new("b/10.txt", "costs £5"), new("b/2.txt", "the dog")], source.Read().ToList());
        Assert.Equal(1, source.Recoded);
        Assert.Equal([new InputRecord("b/10.txt", "costs £5")], source.Read(1, 1).ToList());
    }

    [Fact]
    public void Embed_command_writes_the_same_vectors_to_parquet_and_json_lines()
    {
        using var dir = new TempDirectory();
        using var embedder = TinyEmbedder(dir);
        var texts = Texts(40, seed: 5);
        string input = dir.Write("in.txt", string.Join('\n', texts) + "\n");
        string[] model = ["--model", dir.File("tiny"), "--max-tokens", "16", "--batch", "4", "--threads", "1"];
        Assert.Equal(0, Run(["embed", "--input", input, "--output", dir.File("o.parquet"), .. model]));
        Assert.Equal(0, Run(["embed", "--input", input, "--output", dir.File("o.jsonl"), .. model]));

        var expected = embedder.Embed(texts).Vectors;
        var rows = EmbeddingParquet.ReadAll(dir.File("o.parquet"));
        var lines = File.ReadAllLines(dir.File("o.jsonl"));
        Assert.Equal(40, rows.Count);
        Assert.Equal(40, lines.Length);
        for (int i = 0; i < 40; i++)
        {
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), rows[i].Id);
            Assert.Equal(expected[i], rows[i].Embedding);
            using var json = System.Text.Json.JsonDocument.Parse(lines[i]);
            Assert.Equal(i, json.RootElement.GetProperty("index").GetInt32());
            Assert.False(json.RootElement.TryGetProperty("id", out _));
            Assert.Equal(expected[i], json.RootElement.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray());
        }
    }

    private static int Run(string[] args)
    {
        var errors = new StringWriter();
        var savedOut = Console.Out;
        var savedErr = Console.Error;
        try
        {
            Console.SetOut(TextWriter.Null);
            Console.SetError(errors);
            int code = CliApp.Invoke(Program.CreateRoot(), args, errors);
            Assert.True(code == 0, errors.ToString());
            return code;
        }
        finally
        {
            Console.SetOut(savedOut);
            Console.SetError(savedErr);
        }
    }
}
