using System.CommandLine;
using System.Globalization;
using RepShift.Cluster;
using RepShift.Cluster.Inputs;
using RepShift.Cluster.Outputs;
using RepShift.Embeddings;

namespace RepShift.Cli.Commands;

/// <summary>
/// <c>repshift embed</c>: texts in, one JSON line (or Parquet row) per text out, streamed chunk by chunk so memory
/// does not grow with the input.
/// </summary>
internal static class EmbedCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var vectors = new VectorOptions();
        var texts = new Argument<string[]>("text") { Description = "Texts to embed (or use --input)", Arity = ArgumentArity.ZeroOrMore };
        var input = new Option<string?>("--input", "-i")
        {
            Description = "Texts: a file with one text per line (- for stdin), a .jsonl file of {\"id\":…,\"text\":…}, a .parquet file with a text column, or a folder of .txt files (id = relative path)",
        };
        input.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } path && path != "-" && !File.Exists(path) && !Directory.Exists(path))
                r.AddError($"{input.Name} {path}: file or folder not found");
        });
        var textColumn = new Option<string>("--text-column") { Description = "The text column of a Parquet --input", DefaultValueFactory = _ => "text" };
        var output = new Option<string?>("--output", "-o") { Description = "Where to write: a .parquet file (id, embedding, tokens, token_layers), any other name for JSON lines (default: stdout)" }.OutputFile();
        var command = new Command("embed", """
            Embed texts; writes one JSON line per text: {"index":0,"tokens":12,"token_layers":72,"embedding":[...]}
            ("id" follows "index" for inputs with ids: JSONL, Parquet, folders), or with --output x.parquet a Parquet
            file with the columns id, embedding (float32 list of the model's dimension), tokens, token_layers.
            Input is read, embedded and written chunk by chunk: memory stays flat however long it is, and output
            files appear complete (written under a temporary name, then renamed). Progress and a summary (texts,
            tokens, truncated texts, seconds) go to stderr.
            With --encoding int8 the embedding is int8 levels (-128..127), with binary the packed sign bits as bytes
            (0..255, bit 7 of byte 0 = dimension 0), and the line also holds "dimensions" and "encoding".
            Examples:
              echo "hello world" | repshift embed --input -
              repshift embed --input docs.jsonl --output vectors.parquet
              repshift embed --input ../shared/data/bbc-news --output bbc.jsonl
              repshift embed --dimensions 128 --encoding binary "hello world"
            """);
        command.Arguments.Add(texts);
        command.Options.Add(input);
        command.Options.Add(textColumn);
        command.Options.Add(output);
        command.Options.Add(common.Prompt);
        common.AddTo(command);
        vectors.AddTo(command);
        command.SetAction(r =>
        {
            string[] arguments = r.GetValue(texts) ?? [];
            string? inputPath = r.GetValue(input);
            if (arguments.Length == 0 && inputPath is null) throw new RepShiftException("nothing to embed: give texts as arguments or --input FILE (- for stdin)");
            var source = inputPath is null ? null : InputSource.Open(inputPath, r.GetValue(textColumn)!);

            var embedder = common.CreateEmbedder(r);
            bool ids = source is { Format: not InputFormat.Lines };
            var format = vectors.Format(r, embedder, r.GetValue(common.Model), queries: string.Equals(r.GetValue(common.Prompt), "query", StringComparison.OrdinalIgnoreCase));
            using var writer = EmbeddingWriter.Create(r.GetValue(output), embedder.Dimension, ids, format);
            var progress = new ProgressLine(Console.Error, TimeSpan.FromSeconds(10));
            var totals = StreamingEmbedder.Run(embedder, Records(arguments, source), writer, done => progress.Report(done), prompt: r.GetValue(common.Prompt));
            if (totals.Texts == 0) throw new RepShiftException($"nothing to embed: {inputPath} holds no texts");
            writer.Complete();

            int layers = embedder.Encoder.Config.Layers;
            if (source is { Recoded: > 0 }) Console.Error.WriteLine($"{source.Recoded} file(s) were not valid UTF-8 and were read as Windows-1252");
            Console.Error.WriteLine($"{totals.Texts} texts, {totals.Tokens} tokens ({totals.Truncated} truncated to {embedder.Options.MaxTokens}), "
                + $"{totals.TokenLayers} token-layers ({100.0 * totals.TokenLayers / Math.Max(1, totals.Tokens * layers):F1}% of dense), {totals.Seconds:F2} s");
            return 0;
        });
        return command;
    }

    /// <summary>The argument texts first, then the input's records; line numbers continue after the arguments.</summary>
    private static IEnumerable<InputRecord> Records(string[] arguments, InputSource? source)
    {
        for (int i = 0; i < arguments.Length; i++) yield return new InputRecord(i.ToString(CultureInfo.InvariantCulture), arguments[i]);
        if (source is null) yield break;
        foreach (var record in source.Read())
            yield return source.Format == InputFormat.Lines && arguments.Length > 0
                ? record with { Id = (long.Parse(record.Id, CultureInfo.InvariantCulture) + arguments.Length).ToString(CultureInfo.InvariantCulture) }
                : record;
    }
}
