using RepShift.Evaluation;

namespace RepShift.Cli.Benchmarks;

/// <summary>A named set of texts to benchmark with its length cap and batch size (ONNX Runtime users' batch sizes).</summary>
internal sealed record Workload(string Name, IReadOnlyList<string> Texts, int MaxTokens, int BatchSize);

/// <summary>The standard benchmark workloads over ../shared/data, or an STS-layout file given with --data.</summary>
internal static class Workloads
{
    public static readonly string[] Names = ["sick", "bbc-256", "bbc-512"];

    public static Workload Load(string name, string? dataOverride, int? limit)
    {
        Workload w = name switch
        {
            "sick" => new("sick", Sick(dataOverride ?? "../shared/data/sick/SICK.txt", StsFormat.Sick), 256, 64),
            "bbc-256" => new("bbc-256", Bbc(dataOverride ?? "../shared/data/bbc-news"), 256, 16),
            "bbc-512" => new("bbc-512", Bbc(dataOverride ?? "../shared/data/bbc-news"), 512, 16),
            "sts" => new("sts", Sick(dataOverride ?? throw new RepShiftException("the sts workload needs --data FILE in the STS Benchmark layout"), StsFormat.Stsb), 256, 64),
            _ => throw new RepShiftException($"unknown workload '{name}': use {string.Join(", ", Names)} or sts (with --data)"),
        };
        return limit is int n && n < w.Texts.Count ? w with { Texts = [.. w.Texts.Take(n)] } : w;
    }

    private static List<string> Sick(string path, StsFormat format)
    {
        if (!File.Exists(path)) throw new RepShiftException($"data file '{path}' not found: give --data");
        return [.. new StsEvaluation(StsReader.Read(path, format)).Sentences];
    }

    private static List<string> Bbc(string folder)
    {
        if (!Directory.Exists(folder)) throw new RepShiftException($"data folder '{folder}' not found: give --data");
        var notes = new DataNotes();
        var texts = TopicFolderReader.Read(folder, notes).Select(t => t.Text).ToList();
        foreach (var line in notes.Lines()) Console.Error.WriteLine(line);
        return texts;
    }
}
