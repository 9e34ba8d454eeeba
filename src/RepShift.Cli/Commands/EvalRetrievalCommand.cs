using System.CommandLine;
using RepShift.Evaluation;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift eval retrieval</c>: each query must find its own document among all of them.</summary>
internal static class EvalRetrievalCommand
{
    private const string DefaultData = EvalShared.SharedData + "/bbc-news";

    public static Command Create()
    {
        var common = new CommonOptions();
        var data = EvalShared.DataOption($"A folder of .txt files (headlines) or a TSV file (default: {DefaultData} when it exists)");
        var format = new Option<RetrievalFormat?>("--format") { Description = "headlines: .txt files, first line the query, the rest the document; tsv: lines id<TAB>query<TAB>document (default: headlines for a folder, tsv for a file)" };
        var noPrompt = new Option<bool>("--no-prompt") { Description = "Embed queries and documents without the model's prompts (arctic-embed-xs puts 'Represent this sentence for searching relevant passages: ' before queries), to measure what they are worth" };
        var json = new Option<bool>("--json") { Description = "Print {\"prompts\":true|false,\"mrr10\":..,\"recall1\":..,\"recall10\":..,\"queries\":..,\"tokens\":..,\"token_layers\":..,\"seconds\":..} on stdout" };
        var command = new Command("retrieval", """
            Retrieval: embeds every query and document, ranks all documents for each query by cosine and reports
            recall@1, recall@10 and MRR@10 (× 100) of the query's own document. Queries take the model's query prompt
            and documents its document prompt, if it has them (--no-prompt: neither). Tokens count queries and
            documents, prompts included.
            Example: repshift eval retrieval --data ../shared/data/bbc-news --format headlines --json
            """);
        command.Options.Add(data);
        command.Options.Add(format);
        command.Options.Add(noPrompt);
        command.Options.Add(json);
        common.AddTo(command);
        command.SetAction(r =>
        {
            string path = EvalShared.ResolveData(r.GetValue(data), DefaultData, "FILE|DIR");
            var fmt = r.GetValue(format) ?? (Directory.Exists(path) ? RetrievalFormat.Headlines : RetrievalFormat.Tsv);
            var notes = new DataNotes();
            var evaluation = new RetrievalEvaluation(RetrievalReader.Read(path, fmt, notes));
            foreach (var line in notes.Lines()) Console.Error.WriteLine(line);
            var embedder = common.CreateEmbedder(r);
            var report = Cli.WithProgress("embedding", evaluation.Texts.Count, p => evaluation.Run(embedder, p, prompts: !r.GetValue(noPrompt)));

            EvalShared.ReportWork(embedder, report.Work);
            bool prompts = !r.GetValue(noPrompt);
            string PromptOf(string role) => embedder.Conventions.PromptText(role, embedder.ModelName) is { } text ? $"'{text}'" : "none";
            Console.Error.WriteLine($"prompts: {(prompts ? $"query {PromptOf("query")}, document {PromptOf("document")}" : "left out (--no-prompt)")}");
            Console.Error.WriteLine($"tokens: {report.QueryTokens} in queries, {report.DocumentTokens} in documents");
            var s = report.Scores;
            if (r.GetValue(json))
                Cli.WriteJson(new { model = embedder.ModelName, prompts, mrr10 = 100 * s.Mrr10, recall1 = 100 * s.Recall1, recall10 = 100 * s.Recall10, queries = s.Queries, tokens = report.Work.Tokens, token_layers = report.Work.TokenLayers, seconds = report.Work.Seconds });
            else
                Console.WriteLine($"MRR@10 {100 * s.Mrr10:F2}, recall@1 {100 * s.Recall1:F2}, recall@10 {100 * s.Recall10:F2} over {s.Queries} queries from {path}");
            return 0;
        });
        return command;
    }
}
