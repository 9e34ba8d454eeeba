using System.CommandLine;
using System.Diagnostics;
using RepShift.Compression;
using RepShift.Evaluation;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift eval fidelity</c>: how closely compressed embeddings follow dense ones, on any unlabelled texts.</summary>
internal static class EvalFidelityCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var data = new Option<string?>("--data") { Description = "A text file (one text per line) or a folder of .txt files (default ../shared/data/bbc-news)" };
        var limit = new Option<int?>("--limit") { Description = "Use only the first N texts" }.Range(1);
        var json = new Option<bool>("--json") { Description = "Print one JSON object on stdout" };
        var command = new Command("fidelity", """
            Label-free cost of compression: embeds the texts dense and with the given compression options, then
            reports the mean and smallest cosine between each text's two embeddings and the overlap of each
            text's 10 nearest neighbours under both. Works on any corpus you have.
            Example: repshift eval fidelity --data docs/ --prune-at 1 --keep 0.6 --metric norm --json
            """);
        command.Options.Add(data);
        command.Options.Add(limit);
        command.Options.Add(json);
        common.AddTo(command);
        command.SetAction(r =>
        {
            string path = EvalShared.ResolveData(r.GetValue(data), EvalShared.SharedData + "/bbc-news", "FILE|DIR");
            var notes = new DataNotes();
            var texts = Corpus.Read(path, r.GetValue(limit), notes);
            foreach (var line in notes.Lines()) Console.Error.WriteLine(line);
            var embedder = common.CreateEmbedder(r);
            var plan = embedder.Options.Compression;
            if (plan.IsDense) Console.Error.WriteLine("note: no compression options given; comparing dense with itself");
            var clock = Stopwatch.StartNew();
            var dense = Cli.WithProgress("dense", texts.Count, p => embedder.Embed(texts, p, plan: CompressionPlan.None));
            double denseSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            var compressed = Cli.WithProgress("compressed", texts.Count, p => embedder.Embed(texts, p, plan: plan));
            double seconds = clock.Elapsed.TotalSeconds;
            var f = Fidelity.Measure(dense.Vectors, compressed.Vectors);
            double share = compressed.TotalTokenLayers / (double)dense.TotalTokenLayers;
            if (r.GetValue(json))
                Cli.WriteJson(new { mean_cosine = f.MeanCosine, min_cosine = f.MinCosine, knn10_overlap = f.Knn10Overlap, texts = texts.Count, tokens = compressed.TotalTokens, token_layers = compressed.TotalTokenLayers, work_share = share, seconds, dense_seconds = denseSeconds });
            else Console.WriteLine($"mean cosine {f.MeanCosine:F4}, min cosine {f.MinCosine:F4}, kNN@10 overlap {100 * f.Knn10Overlap:F1}%");
            Console.Error.WriteLine($"{texts.Count} texts; compressed did {100 * share:F1}% of the dense token-layer work; {seconds:F2} s vs {denseSeconds:F2} s dense (one pass each, not a benchmark)");
            return 0;
        });
        return command;
    }
}
