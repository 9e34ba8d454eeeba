using System.CommandLine;
using RepShift.Evaluation;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift eval topics</c>: leave-one-out k-NN topic accuracy on a folder of labelled documents.</summary>
internal static class EvalTopicsCommand
{
    private const string DefaultData = EvalShared.SharedData + "/bbc-news";

    public static Command Create()
    {
        var common = new CommonOptions();
        var data = EvalShared.DataOption($"Folder with one sub-folder per topic holding .txt documents (default: {DefaultData} when it exists)");
        var k = new Option<int>("--k") { Description = "Neighbours that vote on each document's topic", DefaultValueFactory = _ => 5 }.Range(1, 1_000_000);
        var json = new Option<bool>("--json") { Description = "Print {\"accuracy\":..,\"docs\":..,\"tokens\":..,\"token_layers\":..,\"seconds\":..} on stdout" };
        var command = new Command("topics", """
            Topic accuracy: embeds every document, then predicts each one's topic from its k most similar other
            documents (cosine; majority vote, ties to the larger summed similarity) and reports accuracy × 100.
            Example: repshift eval topics --data ../shared/data/bbc-news --json
            """);
        command.Options.Add(data);
        command.Options.Add(k);
        command.Options.Add(json);
        common.AddTo(command);
        command.SetAction(r =>
        {
            int neighbours = r.GetValue(k);
            if (neighbours < 1) throw new RepShiftException($"--k {neighbours} is out of range: use 1 or more neighbours");
            string path = EvalShared.ResolveData(r.GetValue(data), DefaultData, "DIR");
            var notes = new DataNotes();
            var evaluation = new TopicEvaluation(TopicFolderReader.Read(path, notes), neighbours);
            foreach (var line in notes.Lines()) Console.Error.WriteLine(line);
            var embedder = common.CreateEmbedder(r);
            var report = Cli.WithProgress("embedding", evaluation.Texts.Count, p => evaluation.Run(embedder, p));

            EvalShared.ReportWork(embedder, report.Work);
            double accuracy = 100 * report.Accuracy;
            if (r.GetValue(json))
                Cli.WriteJson(new { accuracy, docs = report.Documents, tokens = report.Work.Tokens, token_layers = report.Work.TokenLayers, seconds = report.Work.Seconds });
            else
                Console.WriteLine($"{report.K}-NN accuracy {accuracy:F2}% over {report.Documents} documents in {report.Labels} topics from {path}");
            return 0;
        });
        return command;
    }
}
