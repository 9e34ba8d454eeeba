using System.CommandLine;
using System.Globalization;
using RepShift.Compression;
using RepShift.Text;
using RepShift.Vision;
using Spectre.Console;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift show --text "..."</c>: each token's score at every reduction and where it was removed.</summary>
internal static class ShowCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var text = new Option<string?>("--text") { Description = "The text to trace" };
        var image = new Option<string?>("--image") { Description = $"An image to trace with a ViT model (--model: a ViT folder, default {VisionModel.DefaultFolder}); needs --output" };
        var output = new Option<string?>("--output") { Description = "With --image: the PNG to write (input, then one panel per reduction with removed patches covered)" }.OutputFile();
        var json = new Option<bool>("--json") { Description = """Print one JSON object on stdout: {"tokens":[{"position":0,"token":"[CLS]","start":0,"end":0,"scores":{"1":0.53},"fate":"kept","layer":null,"size":1}],"kept":N,"input_tokens":N,"token_layers":N,"layers":N}""" };
        var command = new Command("show", """
            Show what a compression plan does to one text: every token with its score at each reduction
            layer and whether it was kept, or dropped, merged or fused after which layer.
            A summary (kept tokens, share of dense work) goes to stderr.
            With --image FILE --output out.png: a picture of the image's patches at each reduction (removed
            patches covered in red, merged ones in blue) and the prediction dense and compressed.
            Example: repshift show --text "The quick brown fox jumps over the lazy dog" --prune-at 1 --keep 0.5 --metric norm
            Example: repshift show --image tests/RepShift.Tests/Images/sneaker.png --prune-at 0,2 --keep 0.5 --metric shift-mlp --output show.png
            """);
        command.Options.Add(text);
        command.Options.Add(image);
        command.Options.Add(output);
        command.Options.Add(json);
        common.AddTo(command);
        command.OneOf(text, image);
        image.ExistingFile();
        command.SetAction(r =>
        {
            if (r.GetValue(image) is { } imagePath)
            {
                if (r.GetValue(text) != null) throw new RepShiftException("give --text or --image, not both");
                return ShowImage(r, common, imagePath, r.GetValue(output) ?? throw new RepShiftException("--image needs --output FILE.png for the picture"));
            }
            using var embedder = common.CreateEmbedder(r);
            string given = r.GetValue(text) ?? throw new RepShiftException("give --text \"…\" (or --image FILE --output out.png)");
            var report = embedder.TraceFates(given);
            // Each token's span in the given text (UTF-16 offsets, end exclusive; [CLS]/[SEP] have none), same tokenization.
            var spans = embedder.Tokenizer.EncodeWithOffsets(given, embedder.Options.MaxTokens).Offsets;
            if (report.Truncated) Console.Error.WriteLine($"warning: the text was truncated to {embedder.Options.MaxTokens} tokens (--max-tokens)");
            if (r.GetValue(json)) WriteJson(report, spans);
            else if (Console.IsOutputRedirected) WritePlain(report, spans);
            else AnsiConsole.Write(Table(report, spans));
            var plan = report.Plan;
            string fused = report.FinalRows > report.Kept ? $" plus {report.FinalRows - report.Kept} fused" : "";
            string layers = report.ReductionLayers.Length == 1 ? "layer" : "layers";
            Console.Error.WriteLine($"{report.Kept} of {report.InputTokens} tokens kept{fused} ({plan.Metric}, {Name(plan.Mode)} after {layers} {string.Join(",", report.ReductionLayers)}); "
                + $"{report.TokenLayers} token-layers, {100.0 * report.WorkShare:F1}% of dense");
            return 0;
        });
        return command;
    }

    private static int ShowImage(ParseResult r, CommonOptions common, string path, string output)
    {
        // The presets are tuned on sentences: their 64-token minimum would leave a 50-token image dense without a word.
        if (r.GetValue(common.Preset) != null) throw new RepShiftException("--preset is for text; with --image give the plan itself (--prune-at, --keep, --metric, --mode) or --plan");
        foreach (var textOnly in new Option[] { common.MaxTokens, common.BatchTokens, common.Pooling, common.Batch })
            if (r.GetResult(textOnly) is { Implicit: false }) throw new RepShiftException($"{textOnly.Name} has no meaning for one image; leave it out with --image");
        using var classifier = VisionModel.Load(r.GetValue(common.Model), VisionModel.Options(common, r));
        var c = classifier.Config;
        var plan = classifier.Options.Compression;
        byte[] pixels;
        using (var bitmap = ImageFile.Decode(path)) pixels = ImageFile.ToModelBytes(bitmap, c.ImageSize, c.Channels);
        var input = classifier.Normalize(pixels);
        var stages = classifier.Trace(input);
        PatchFigure.Write(output, pixels, c, stages, merged: plan.Mode is ReduceMode.Merge or ReduceMode.MergeProtect);
        var dense = classifier.Classify([input], CompressionPlan.None)[0];
        var compressed = classifier.Classify([input])[0];
        foreach (var s in stages)
            Console.Error.WriteLine($"after layer {s.Layer}: {s.Alive.Count(a => a)} of {c.Patches} patches keep a row of their own ({s.Rows} rows incl. special tokens)");
        Console.Error.WriteLine($"prediction: {compressed.Label} (dense: {dense.Label}); {compressed.TokenLayers} token-layers, {100.0 * compressed.TokenLayers / (c.Tokens * c.Layers):F1}% of dense; wrote {output}");
        return 0;
    }

    private static void WriteJson(TokenFateReport report, TokenOffset[] spans)
    {
        var tokens = report.Tokens.Select(t => new
        {
            position = t.Position,
            token = t.Token,
            start = spans[t.Position].Start,
            end = spans[t.Position].End,
            scores = Scores(report, t),
            fate = Name(t.Fate),
            layer = t.Layer,
            size = t.Size,
        });
        Cli.WriteJson(new { tokens, kept = report.Kept, input_tokens = report.InputTokens, token_layers = report.TokenLayers, layers = report.Layers });
    }

    /// <summary>Layer → score, only where the token was scored (JSON has no NaN).</summary>
    private static Dictionary<string, float> Scores(TokenFateReport report, TokenFate t)
    {
        var scores = new Dictionary<string, float>();
        for (int k = 0; k < report.ReductionLayers.Length; k++)
            if (!float.IsNaN(t.Scores[k])) scores[report.ReductionLayers[k].ToString(CultureInfo.InvariantCulture)] = t.Scores[k];
        return scores;
    }

    private static string Name<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();

    private static string Fate(TokenFate t) => t.Fate == TokenFateKind.Kept
        ? t.Protected ? "kept (protected)" : t.Size > 1 ? $"kept (stands for {t.Size:0})" : "kept"
        : $"{Name(t.Fate)} after layer {t.Layer}";

    private static string Score(float v) => float.IsNaN(v) ? "-" : v.ToString("G4", CultureInfo.InvariantCulture);

    private static string[] Header(TokenFateReport report) =>
        ["#", "token", "chars", .. report.ReductionLayers.Select(l => $"score@{l}"), "fate"];

    private static string[] Cells(TokenFateReport report, TokenFate t, TokenOffset[] spans) =>
        [t.Position.ToString(CultureInfo.InvariantCulture), t.Token, Span(spans[t.Position]), .. t.Scores.Select(Score), Fate(t)];

    private static string Span(TokenOffset o) => o.End > o.Start ? string.Create(CultureInfo.InvariantCulture, $"{o.Start}-{o.End}") : "-";

    /// <summary>Plain aligned columns for pipes and files: numbers right-aligned, no escape codes.</summary>
    private static void WritePlain(TokenFateReport report, TokenOffset[] spans)
    {
        var rows = new List<string[]> { Header(report) };
        rows.AddRange(report.Tokens.Select(t => Cells(report, t, spans)));
        int columns = rows[0].Length;
        var width = new int[columns];
        foreach (var row in rows)
            for (int c = 0; c < columns; c++) width[c] = Math.Max(width[c], row[c].Length);
        foreach (var row in rows)
        {
            var cells = new string[columns];
            for (int c = 0; c < columns; c++)
            {
                bool left = c == 1 || c == columns - 1;
                cells[c] = c == columns - 1 ? row[c] : left ? row[c].PadRight(width[c]) : row[c].PadLeft(width[c]);
            }
            Console.Out.WriteLine(string.Join("  ", cells));
        }
    }

    private static Table Table(TokenFateReport report, TokenOffset[] spans)
    {
        var table = new Table().Border(TableBorder.Simple);
        var header = Header(report);
        for (int c = 0; c < header.Length; c++)
        {
            var column = new TableColumn(Markup.Escape(header[c]));
            if (c != 1 && c != header.Length - 1) column.RightAligned();
            table.AddColumn(column);
        }
        foreach (var t in report.Tokens)
        {
            string style = t.Fate switch
            {
                TokenFateKind.Kept => "green",
                TokenFateKind.Dropped => "dim red",
                _ => "yellow",
            };
            // Tokens such as [CLS] are markup syntax, so every cell is escaped.
            table.AddRow(Cells(report, t, spans).Select(cell => new Markup($"[{style}]{Markup.Escape(cell)}[/]")).ToArray());
        }
        return table;
    }
}
