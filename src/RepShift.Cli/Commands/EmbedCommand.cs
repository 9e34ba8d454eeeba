using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift embed</c>: texts in, one JSON line per text out.</summary>
internal static class EmbedCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var texts = new Argument<string[]>("text") { Description = "Texts to embed (or use --input)", Arity = ArgumentArity.ZeroOrMore };
        var input = new Option<string?>("--input", "-i") { Description = "File with one text per line, or - for stdin" }.ExistingFile(stdin: true);
        var output = new Option<string?>("--output", "-o") { Description = "Where to write JSON lines (default: stdout)" }.OutputFile();
        var command = new Command("embed", """
            Embed texts; writes one JSON line per text: {"index":0,"tokens":12,"token_layers":72,"embedding":[...]}.
            A summary (texts, tokens, truncated texts, seconds) goes to stderr.
            Example: echo "hello world" | repshift embed --input -
            """);
        command.Arguments.Add(texts);
        command.Options.Add(input);
        command.Options.Add(output);
        command.Options.Add(common.Prompt);
        common.AddTo(command);
        command.SetAction(r =>
        {
            var items = new List<string>(r.GetValue(texts) ?? []);
            string? inputPath = r.GetValue(input);
            if (inputPath != null) items.AddRange(TextInput.ReadLines(inputPath));
            if (items.Count == 0) throw new RepShiftException("nothing to embed: give texts as arguments or --input FILE (- for stdin)");

            var embedder = common.CreateEmbedder(r);
            for (int i = 0; i < items.Count; i++)
                if (!embedder.Tokenizer.HasWordPieces(items[i]))
                    throw new RepShiftException($"text {i + 1} is empty: it has no word pieces (only whitespace or characters the tokenizer drops, such as control characters), so there is nothing to embed; remove the blank line or give it some words");
            var clock = Stopwatch.StartNew();
            var result = Cli.WithProgress("embedding", items.Count, p => embedder.Embed(items, p, prompt: r.GetValue(common.Prompt)));
            double seconds = clock.Elapsed.TotalSeconds;

            string? outputPath = r.GetValue(output);
            using (var writer = outputPath is null or "-" ? new StreamWriter(Console.OpenStandardOutput()) : new StreamWriter(outputPath))
            {
                for (int i = 0; i < items.Count; i++)
                    writer.WriteLine(JsonSerializer.Serialize(new { index = i, tokens = result.Tokens[i], token_layers = result.TokenLayers[i], embedding = result.Vectors[i] }, Cli.Json));
            }
            int layers = embedder.Encoder.Config.Layers;
            Console.Error.WriteLine($"{items.Count} texts, {result.TotalTokens} tokens ({result.Truncated} truncated to {embedder.Options.MaxTokens}), "
                + $"{result.TotalTokenLayers} token-layers ({100.0 * result.TotalTokenLayers / Math.Max(1, result.TotalTokens * layers):F1}% of dense), {seconds:F2} s");
            return 0;
        });
        return command;
    }
}
