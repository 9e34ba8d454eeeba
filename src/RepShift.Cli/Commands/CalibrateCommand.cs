using System.CommandLine;
using RepShift.Compression;
using RepShift.Evaluation;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift calibrate</c>: pick a compression plan for this model from unlabelled texts.</summary>
internal static class CalibrateCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var data = new Option<string?>("--data") { Description = "Unlabelled texts like the ones you will embed: a file (one per line) or a folder of .txt files" };
        var limit = new Option<int>("--limit") { Description = "Texts to use (the first N)", DefaultValueFactory = _ => 500 }.Range(1);
        var screen = new Option<int>("--screen") { Description = "Texts used to search (the first N of them); finalists are timed on all", DefaultValueFactory = _ => 200 }.Range(1);
        var target = new Option<double>("--target-speedup") { Description = "Required speed over dense RepShift", DefaultValueFactory = _ => 1.5 }.Range(0, 1000, minExclusive: true);
        var output = new Option<string>("--output", "-o") { Description = "Where to write the plan", DefaultValueFactory = _ => "plan.json" }.OutputFile();
        var json = new Option<bool>("--json") { Description = "Print the chosen trial as one JSON object on stdout" };
        var command = new Command("calibrate", """
            Choose a compression plan for this model, training-free and label-free: ranks token scorers, tries
            drop/fuse/merge over a grid of schedules and keep ratios, and scores each by self-retrieval (each
            text's first sentence, embedded dense, must find the rest of the text, embedded under the plan,
            among all others: MRR@10) and its share of the token-layer work; prefers plans whose neighbours on
            the grid hold up too, and times the best candidates against dense until one reaches the target.
            Writes the plan for --plan FILE.
            Example: repshift calibrate --data ../shared/data/bbc-news --target-speedup 1.5 --output bbc-plan.json
            """);
        foreach (var o in new Option[] { data, limit, screen, target, output, json }) command.Options.Add(o);
        common.AddTo(command, compression: false);
        command.SetAction(r =>
        {
            string path = EvalShared.ResolveData(r.GetValue(data), EvalShared.SharedData + "/bbc-news", "FILE|DIR");
            var notes = new DataNotes();
            var texts = Corpus.Read(path, r.GetValue(limit), notes);
            foreach (var line in notes.Lines()) Console.Error.WriteLine(line);
            var embedder = common.CreateEmbedder(r);
            Console.Error.WriteLine($"calibrating {embedder.ModelName} on {texts.Count} texts from {path} (searching on {Math.Min(texts.Count, r.GetValue(screen))}), target {r.GetValue(target):F2}× dense");
            var report = Calibration.Run(embedder, texts, r.GetValue(target), new Progress<string>(Console.Error.WriteLine), screen: r.GetValue(screen));
            if (report.Chosen is not { } chosen)
                throw new RepShiftException($"no plan reached {r.GetValue(target):F2}× dense with acceptable fidelity; try a lower --target-speedup (best timed: "
                    + string.Join(", ", report.Trials.Where(t => t.Speedup != null).Select(t => $"{Calibration.Describe(t.Plan)} {t.Speedup:F2}×")) + ")");
            chosen.Plan.Save(r.GetValue(output)!);
            Console.Error.WriteLine($"chose {Calibration.Describe(chosen.Plan)}: {chosen.Speedup:F2}× dense, work {chosen.WorkShare:P0}, self-retrieval MRR@10 {chosen.SelfMrr:P2}, mean cosine {chosen.Fidelity.MeanCosine:F4}, kNN@10 {chosen.Fidelity.Knn10Overlap:P0} → {r.GetValue(output)}");
            if (r.GetValue(json))
                Cli.WriteJson(new { plan = r.GetValue(output), speedup = chosen.Speedup, work_share = chosen.WorkShare, self_mrr10 = chosen.SelfMrr, mean_cosine = chosen.Fidelity.MeanCosine, knn10_overlap = chosen.Fidelity.Knn10Overlap, trials = report.Trials.Count });
            return 0;
        });
        return command;
    }
}
