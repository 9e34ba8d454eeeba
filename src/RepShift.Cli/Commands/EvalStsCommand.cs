using System.CommandLine;
using RepShift.Evaluation;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift eval sts</c>: Spearman correlation of cosine similarity with human scores (SICK, STS Benchmark).</summary>
internal static class EvalStsCommand
{
    private const string DefaultData = EvalShared.SharedData + "/sick/SICK.txt";

    public static Command Create()
    {
        var common = new CommonOptions();
        var data = EvalShared.DataOption($"Sentence-pair file (default for --format sick: {DefaultData} when it exists)");
        var format = new Option<StsFormat>("--format") { Description = "sick: SICK.txt with its header; stsb: STS Benchmark (genre, file, year, id, score, sentence1, sentence2)", DefaultValueFactory = _ => StsFormat.Sick };
        var json = new Option<bool>("--json") { Description = "Print {\"spearman\":..,\"pairs\":..,\"sentences\":..,\"tokens\":..,\"token_layers\":..,\"seconds\":..} on stdout" };
        var command = new Command("sts", """
            Semantic textual similarity: embeds every distinct sentence once, then reports Spearman's rank
            correlation × 100 between the cosine similarity of each pair and its human score.
            Example: repshift eval sts --data ../shared/data/sick/SICK.txt --format sick --json
            """);
        command.Options.Add(data);
        command.Options.Add(format);
        command.Options.Add(json);
        common.AddTo(command);
        command.SetAction(r =>
        {
            var fmt = r.GetValue(format);
            string path = EvalShared.ResolveData(r.GetValue(data), fmt == StsFormat.Sick ? DefaultData : null, "FILE");
            var evaluation = new StsEvaluation(StsReader.Read(path, fmt));
            var embedder = common.CreateEmbedder(r);
            var report = Cli.WithProgress("embedding", evaluation.Sentences.Count, p => evaluation.Run(embedder, p));

            EvalShared.ReportWork(embedder, report.Work);
            double spearman = 100 * report.Spearman;
            if (r.GetValue(json))
                Cli.WriteJson(new { spearman, pairs = report.Pairs, sentences = report.Sentences, tokens = report.Work.Tokens, token_layers = report.Work.TokenLayers, seconds = report.Work.Seconds });
            else
                Console.WriteLine($"Spearman {spearman:F2} over {report.Pairs} pairs ({report.Sentences} distinct sentences) from {path}");
            return 0;
        });
        return command;
    }
}
