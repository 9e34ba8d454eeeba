using System.CommandLine;
using RepShift.Embeddings;
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
        var dimensions = new Option<string?>("--dimensions") { Description = "Also score the vectors truncated to these dimensions (comma-separated, e.g. 384,256,128,64; renormalised)" };
        var encodings = new Option<string?>("--encoding") { Description = "Also score these encodings (comma-separated: float, int8, binary); int8 ranges and the binary projection (the 'itq' rows) are calibrated on the documents, query thresholds ('query t') on the other half of the queries" };
        var rescore = new Option<int?>("--rescore") { Description = "With binary: also re-rank the K nearest by Hamming distance with the float query, once against their sign bits and once against the documents' float vectors" }.Range(1);
        var itqSeed = new Option<int>("--itq-seed")
        {
            Description = "Seed of ITQ's starting rotation for the 'itq' rows (default 0, as calibrate-encoding uses): another seed gives another local minimum, to measure how much the rows move",
            DefaultValueFactory = _ => 0,
        };
        var noPrompt = new Option<bool>("--no-prompt") { Description = "Embed queries and documents without the model's prompts (arctic-embed-xs puts 'Represent this sentence for searching relevant passages: ' before queries), to measure what they are worth" };
        var json = new Option<bool>("--json") { Description = "Print {\"model\":..,\"prompts\":true|false,\"mrr10\":..,\"recall1\":..,\"recall10\":..,\"queries\":..,\"tokens\":..,\"token_layers\":..,\"seconds\":..} on stdout" };
        var command = new Command("retrieval", """
            Retrieval: embeds every query and document, ranks all documents for each query by cosine and reports
            recall@1, recall@10 and MRR@10 (× 100) of the query's own document. Queries take the model's query prompt
            and documents its document prompt, if it has them (--no-prompt: neither). Tokens count queries and
            documents, prompts included.
            With --dimensions or --encoding, the same vectors are also scored shortened and encoded as a vector
            database stores them: one row per dimensions × encoding (float: dot product; int8: dot product of the
            dequantized vectors; binary: Hamming distance, equal distances ordered by the float query's weight on
            the differing bits, and with --rescore K the K nearest re-ranked by the float
            query, against their bits (only bits stored) and against the documents' float vectors (kept beside
            the bits, as vector databases keep originals on disk)), with the bytes searched per vector and the
            share of the float MRR@10 at the same dimensions. Binary is scored three times: plain sign bits; "binary
            itq", the bits of a projection calibrated on the documents (as 'calibrate-encoding --encoding binary'
            writes one for embed and serve); and "binary itq (query t)", the same with query bits thresholded at
            medians over queries (as 'calibrate-encoding --queries' adds), cross-fitted: each query's thresholds come
            from the other half of the queries, never from itself. --json then adds "rows".
            Examples: repshift eval retrieval --data ../shared/data/bbc-news --format headlines --json
                      repshift eval retrieval --data ../shared/data/bbc-news --format headlines --dimensions 384,256,128,64 --encoding float,int8,binary --rescore 100
            """);
        dimensions.Validators.Add(r =>
        {
            if (r.Implicit || r.Tokens.Count == 0) return;
            if (OptionChecks.ParseIntList(dimensions.Name, r.Tokens[0].Value, 1, 1 << 16, out _) is { } error) r.AddError(error);
        });
        encodings.Validators.Add(r =>
        {
            if (r.Implicit || r.Tokens.Count == 0) return;
            try { ParseEncodings(r.Tokens[0].Value); }
            catch (RepShiftException e) { r.AddError($"--encoding: {e.Message}"); }
        });
        command.Options.Add(dimensions);
        command.Options.Add(encodings);
        command.Options.Add(rescore);
        command.Options.Add(itqSeed);
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
            var settings = Settings(r.GetValue(dimensions), r.GetValue(encodings), r.GetValue(rescore), embedder);
            var report = Cli.WithProgress("embedding", evaluation.Texts.Count, p => evaluation.Run(embedder, p, prompts: !r.GetValue(noPrompt)));

            EvalShared.ReportWork(embedder, report.Work);
            bool prompts = !r.GetValue(noPrompt);
            string PromptOf(string role) => embedder.Conventions.PromptText(role, embedder.ModelName) is { } text ? $"'{text}'" : "none";
            Console.Error.WriteLine($"prompts: {(prompts ? $"query {PromptOf("query")}, document {PromptOf("document")}" : "left out (--no-prompt)")}");
            Console.Error.WriteLine($"tokens: {report.QueryTokens} in queries, {report.DocumentTokens} in documents");
            var s = report.Scores;
            var rows = Score(report, settings, embedder.ModelName, r.GetValue(itqSeed));
            if (r.GetValue(json))
            {
                if (rows.Count == 0)
                    Cli.WriteJson(new { model = embedder.ModelName, prompts, mrr10 = 100 * s.Mrr10, recall1 = 100 * s.Recall1, recall10 = 100 * s.Recall10, queries = s.Queries, tokens = report.Work.Tokens, token_layers = report.Work.TokenLayers, seconds = report.Work.Seconds });
                else
                    Cli.WriteJson(new
                    {
                        model = embedder.ModelName,
                        prompts,
                        mrr10 = 100 * s.Mrr10,
                        recall1 = 100 * s.Recall1,
                        recall10 = 100 * s.Recall10,
                        queries = s.Queries,
                        tokens = report.Work.Tokens,
                        token_layers = report.Work.TokenLayers,
                        seconds = report.Work.Seconds,
                        rows = rows.Select(x => new
                        {
                            dimensions = x.Row.Setting.Dimensions,
                            encoding = x.Row.Setting.Encoding.Name(),
                            rescore = x.Row.Setting.Rescore,
                            projection = x.Row.Setting.Encoding != EmbeddingEncoding.Binary ? null : x.Row.Setting.Projected ? "itq" : "none",
                            query_thresholds = x.Row.Setting.QueryThresholds ? "cross-fitted" : null,
                            rescore_with = x.Row.Setting.Rescore == 0 ? null : x.Row.Setting.RescoreWithFloats ? "float" : "bits",
                            bytes_per_vector = x.Row.Setting.BytesPerVector,
                            mrr10 = 100 * x.Row.Scores.Mrr10,
                            recall1 = 100 * x.Row.Scores.Recall1,
                            recall10 = 100 * x.Row.Scores.Recall10,
                            share_of_float = x.ShareOfFloat,
                        }),
                    });
            }
            else
            {
                Console.WriteLine($"MRR@10 {100 * s.Mrr10:F2}, recall@1 {100 * s.Recall1:F2}, recall@10 {100 * s.Recall10:F2} over {s.Queries} queries from {path}");
                if (rows.Count > 0) Console.WriteLine($"{"dims",5} {"encoding",-50} {"bytes",6} {"MRR@10",7} {"R@1",6} {"R@10",6} {"of float",8}");
                foreach (var (row, share) in rows)
                    Console.WriteLine($"{row.Setting.Dimensions,5} {row.Setting.Name,-50} {row.Setting.BytesPerVector,6} "
                        + $"{100 * row.Scores.Mrr10,7:F2} {100 * row.Scores.Recall1,6:F2} {100 * row.Scores.Recall10,6:F2} {100 * share,7:F2}%");
            }
            return 0;
        });
        return command;
    }

    private static EmbeddingEncoding[] ParseEncodings(string text) =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(EmbeddingEncodings.Parse).Distinct()];

    /// <summary>Every dimensions × encoding asked for (binary plain and projected, each also re-scored both ways with --rescore); none when neither option is given.</summary>
    private static List<VectorSetting> Settings(string? dimensions, string? encodings, int? rescore, TextEmbedder embedder)
    {
        if (rescore != null && !(encodings is { } e && ParseEncodings(e).Contains(EmbeddingEncoding.Binary)))
            throw new RepShiftException("--rescore re-ranks binary search hits: add binary to --encoding");
        if (dimensions is null && encodings is null) return [];
        int[] dims = [embedder.Dimension];
        if (dimensions != null && OptionChecks.ParseIntList("--dimensions", dimensions, 1, 1 << 16, out dims) is { } error) throw new RepShiftException(error);
        foreach (int d in dims) Matryoshka.CheckDimensions(d, embedder.Dimension, embedder.ModelName);
        var kinds = encodings is null ? [EmbeddingEncoding.Float] : ParseEncodings(encodings);
        var settings = new List<VectorSetting>();
        foreach (int d in dims.Distinct())
            foreach (var kind in kinds)
            {
                settings.Add(new VectorSetting(d, kind));
                if (kind != EmbeddingEncoding.Binary) continue;
                foreach (var (projected, queryThresholds) in new[] { (false, false), (true, false), (true, true) })
                {
                    if (projected) settings.Add(new VectorSetting(d, kind, Projected: true, QueryThresholds: queryThresholds));
                    if (rescore is not int k) continue;
                    settings.Add(new VectorSetting(d, kind, k, Projected: projected, QueryThresholds: queryThresholds));
                    settings.Add(new VectorSetting(d, kind, k, RescoreWithFloats: true, Projected: projected, QueryThresholds: queryThresholds));
                }
            }
        return settings;
    }

    /// <summary>Each setting's scores and its share of the float MRR@10 at the same dimensions.</summary>
    private static List<(EncodedRetrievalRow Row, double ShareOfFloat)> Score(RetrievalReport report, List<VectorSetting> settings, string model, int itqSeed)
    {
        var rows = new List<(EncodedRetrievalRow, double)>();
        var floats = new Dictionary<int, double>();
        var projections = new Dictionary<int, BinaryProjection>();
        foreach (var setting in settings)
        {
            BinaryProjection? projection = null;
            if (setting.Projected && !projections.TryGetValue(setting.Dimensions, out projection))
                projections[setting.Dimensions] = projection = Cli.WithProgress($"binary projection, {setting.Dimensions} dimensions", IterativeQuantization.DefaultIterations,
                    p => EncodedRetrieval.CalibrateProjection(report.DocumentVectors, setting.Dimensions, model, p, itqSeed));
            var row = EncodedRetrieval.Score(report.QueryVectors, report.DocumentVectors, setting, model, projection);
            if (!floats.TryGetValue(setting.Dimensions, out double reference))
                floats[setting.Dimensions] = reference = setting.Encoding == EmbeddingEncoding.Float
                    ? row.Scores.Mrr10
                    : EncodedRetrieval.Score(report.QueryVectors, report.DocumentVectors, setting with { Encoding = EmbeddingEncoding.Float, Rescore = 0 }, model).Scores.Mrr10;
            rows.Add((row, reference > 0 ? row.Scores.Mrr10 / reference : double.NaN));
        }
        return rows;
    }
}
