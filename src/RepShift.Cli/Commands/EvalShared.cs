using System.CommandLine;
using RepShift.Evaluation;

namespace RepShift.Cli.Commands;

/// <summary>Pieces every <c>repshift eval</c> sub-command shares: where the data is and how the embedding work is reported.</summary>
internal static class EvalShared
{
    /// <summary>Where the shared data sets live relative to a worktree (see ../shared/data/README.md).</summary>
    public const string SharedData = "../shared/data";

    public static Option<string?> DataOption(string description) => new("--data") { Description = description };

    /// <summary>The given path, or <paramref name="fallback"/> when it exists here; otherwise an error asking for --data.</summary>
    public static string ResolveData(string? given, string? fallback, string expected)
    {
        if (!string.IsNullOrWhiteSpace(given)) return given;
        if (fallback != null && (File.Exists(fallback) || Directory.Exists(fallback))) return fallback;
        throw new RepShiftException(fallback == null
            ? $"no data given: use --data {expected}"
            : $"no data given and the default {fallback} does not exist from {Environment.CurrentDirectory}: use --data {expected}");
    }

    /// <summary>The one line on stderr saying what the embedding cost, truncation included.</summary>
    public static void ReportWork(TextEmbedder embedder, EmbeddingWork work)
    {
        int layers = embedder.Encoder.Config.Layers;
        Console.Error.WriteLine($"{work.Texts} texts embedded, {work.Tokens} tokens ({work.Truncated} texts truncated to {embedder.Options.MaxTokens}), "
            + $"{work.TokenLayers} token-layers ({100.0 * work.TokenLayers / Math.Max(1, work.Tokens * layers):F1}% of dense), {work.Seconds:F2} s "
            + $"({work.Texts / Math.Max(1e-9, work.Seconds):F1} texts/s)");
    }
}
