using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using RepShift.Embeddings;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift embed</c>: texts in, one JSON line per text out.</summary>
internal static class EmbedCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var vectors = new VectorOptions();
        var texts = new Argument<string[]>("text") { Description = "Texts to embed (or use --input)", Arity = ArgumentArity.ZeroOrMore };
        var input = new Option<string?>("--input", "-i") { Description = "File with one text per line, or - for stdin" }.ExistingFile(stdin: true);
        var output = new Option<string?>("--output", "-o") { Description = "Where to write JSON lines (default: stdout)" }.OutputFile();
        var command = new Command("embed", """
            Embed texts; writes one JSON line per text: {"index":0,"tokens":12,"token_layers":72,"embedding":[...]}.
            With --encoding int8 the embedding is int8 levels (-128..127), with binary the packed sign bits as bytes
            (0..255, bit 7 of byte 0 = dimension 0), and the line also holds "dimensions" and "encoding".
            A summary (texts, tokens, truncated texts, seconds) goes to stderr.
            Examples: echo "hello world" | repshift embed --input -
                      repshift embed --dimensions 128 --encoding binary "hello world"
            """);
        command.Arguments.Add(texts);
        command.Options.Add(input);
        command.Options.Add(output);
        command.Options.Add(common.Prompt);
        common.AddTo(command);
        vectors.AddTo(command);
        command.SetAction(r =>
        {
            var items = new List<string>(r.GetValue(texts) ?? []);
            string? inputPath = r.GetValue(input);
            if (inputPath != null) items.AddRange(TextInput.ReadLines(inputPath));
            if (items.Count == 0) throw new RepShiftException("nothing to embed: give texts as arguments or --input FILE (- for stdin)");

            var embedder = common.CreateEmbedder(r);
            var format = vectors.Format(r, embedder, r.GetValue(common.Model));
            for (int i = 0; i < items.Count; i++)
                if (!embedder.Tokenizer.HasWordPieces(items[i]))
                    throw new RepShiftException($"text {i + 1} is empty: it has no word pieces (only whitespace or characters the tokenizer drops, such as control characters), so there is nothing to embed; remove the blank line or give it some words");
            var clock = Stopwatch.StartNew();
            var result = Cli.WithProgress("embedding", items.Count, p => embedder.Embed(items, p, prompt: r.GetValue(common.Prompt)));
            double seconds = clock.Elapsed.TotalSeconds;

            string? outputPath = r.GetValue(output);
            using (var writer = outputPath is null or "-" ? new StreamWriter(Console.OpenStandardOutput()) : new StreamWriter(outputPath))
            {
                bool plain = format.Encoding == EmbeddingEncoding.Float && format.Dimensions == embedder.Dimension;
                for (int i = 0; i < items.Count; i++)
                    writer.WriteLine(plain
                        ? JsonSerializer.Serialize(new { index = i, tokens = result.Tokens[i], token_layers = result.TokenLayers[i], embedding = result.Vectors[i] }, Cli.Json)
                        : Line(i, result, format));
            }
            int layers = embedder.Encoder.Config.Layers;
            Console.Error.WriteLine($"{items.Count} texts, {result.TotalTokens} tokens ({result.Truncated} truncated to {embedder.Options.MaxTokens}), "
                + $"{result.TotalTokenLayers} token-layers ({100.0 * result.TotalTokenLayers / Math.Max(1, result.TotalTokens * layers):F1}% of dense), {seconds:F2} s");
            return 0;
        });
        return command;
    }

    /// <summary>One output line for a shortened or encoded vector: the plain line's fields plus what the vector is.</summary>
    private static string Line(int i, EmbeddingResult result, VectorFormat format)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("index", i);
            json.WriteNumber("tokens", result.Tokens[i]);
            json.WriteNumber("token_layers", result.TokenLayers[i]);
            json.WriteNumber("dimensions", format.Dimensions);
            json.WriteString("encoding", format.Encoding.Name());
            json.WritePropertyName("embedding");
            format.WriteJsonArray(json, result.Vectors[i]);
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
