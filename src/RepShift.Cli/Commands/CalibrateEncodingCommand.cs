using System.CommandLine;
using RepShift.Embeddings;
using RepShift.Evaluation;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift calibrate-encoding</c>: measure per-dimension int8 ranges (--int8-ranges) or learn a binary projection (--binary-projection) on a corpus and write it.</summary>
internal static class CalibrateEncodingCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var data = new Option<string?>("--data") { Description = "Texts like the ones you will store: a file (one per line) or a folder of .txt files, embedded with the model's document prompt if it has one" };
        var limit = new Option<int>("--limit") { Description = "Texts to use (the first N)", DefaultValueFactory = _ => 2000 }.Range(1);
        var dimensions = new Option<int?>("--dimensions") { Description = "Calibrate the vectors truncated to N dimensions (default: all); the file serves only this count" }.Range(1, 1 << 16);
        var queries = new Option<string?>("--queries")
        {
            Description = "With --encoding binary: queries like the ones you will search with (a file, one per line, or a folder of .txt files; up to --limit), "
                + "embedded with the model's query prompt; each bit then also gets a threshold for queries, used for --prompt query and input_type query",
        };
        var encoding = new Option<string>("--encoding") { Description = "What to calibrate: int8 (per-dimension ranges) or binary (a projection for the sign bits)", DefaultValueFactory = _ => "int8" }
            .AcceptOnlyFromAmong("int8", "binary");
        var output = new Option<string?>("--output", "-o")
        {
            Description = $"Where to write it (default: {VectorOptions.RangesFileName("N")} or {VectorOptions.ProjectionFileName("N")} in the model's folder, or in the current folder for a built-in model or an .onnx file)",
        }.OutputFile();
        var command = new Command("calibrate-encoding", """
            Calibrate an encoding on texts like the ones you will store, for the model at one dimension count; the
            file is JSON with the model's name and the dimension count, and is refused for any other.
            int8: embeds the texts and takes each dimension's smallest and largest value. --encoding int8 (embed,
            serve, eval retrieval) maps each range onto the 256 levels -128..127; values outside it are clamped.
            binary: learns an orthogonal rotation by iterative quantization (ITQ, 50 steps) and a median threshold
            per bit. --binary-projection (embed, serve) then gives the bits of the rotated vector instead of plain
            sign bits: still one bit per dimension, but Hamming search finds more of the true neighbours (measured
            in docs/RESULTS.md). Queries and documents must be encoded with the same projection. With --queries,
            query bits get thresholds of their own (the median over those queries): a retrieval model's queries are
            short and prompted and sit apart from the documents, so shared thresholds leave query bits lopsided.
            Examples: repshift calibrate-encoding --data ../shared/data/bbc-news --dimensions 128 -o ranges-128.json
                      repshift calibrate-encoding --encoding binary --data ../shared/data/bbc-news -o projection-384.json
                      repshift calibrate-encoding --encoding binary --data docs/ --queries past-queries.txt --dimensions 64
            """);
        foreach (var o in new Option[] { encoding, data, queries, limit, dimensions, output }) command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(r =>
        {
            string path = EvalShared.ResolveData(r.GetValue(data), null, "FILE|DIR");
            var notes = new DataNotes();
            var texts = Corpus.Read(path, r.GetValue(limit), notes);
            foreach (var line in notes.Lines()) Console.Error.WriteLine(line);
            var embedder = common.CreateEmbedder(r);
            int dims = r.GetValue(dimensions) ?? embedder.Dimension;
            Matryoshka.CheckDimensions(dims, embedder.Dimension, embedder.ModelName);
            bool binary = r.GetValue(encoding) == "binary";
            string? queryPath = r.GetValue(queries);
            if (queryPath != null && !binary) throw new RepShiftException("--queries calibrates the query thresholds of a binary projection: add --encoding binary");
            var queryNotes = new DataNotes();
            var queryTexts = queryPath is null ? null : Corpus.Read(queryPath, r.GetValue(limit), queryNotes);
            foreach (var line in queryNotes.Lines()) Console.Error.WriteLine(line);
            string target = r.GetValue(output) ?? VectorOptions.DefaultPath(r.GetValue(common.Model), binary ? VectorOptions.ProjectionFileName(dims) : VectorOptions.RangesFileName(dims));
            var result = Cli.WithProgress("embedding", texts.Count, p => embedder.Embed(texts, p, prompt: "document")); // as documents are embedded for storing: the model's document prompt, if it has one
            var vectors = Matryoshka.Truncate(result.Vectors, dims);
            if (binary)
            {
                var itq = Cli.WithProgress("rotation", IterativeQuantization.DefaultIterations, p => IterativeQuantization.Calibrate(embedder.ModelName, vectors, progress: p));
                var projection = itq.Projection;
                if (queryTexts != null)
                {
                    var queryVectors = Cli.WithProgress("embedding queries", queryTexts.Count, p => embedder.Embed(queryTexts, p, prompt: "query"));
                    projection = IterativeQuantization.WithQueryThresholds(projection, Matryoshka.Truncate(queryVectors.Vectors, dims));
                }
                projection.Save(target);
                Console.Error.WriteLine($"binary projection of {embedder.ModelName} at {dims} dimensions from {texts.Count} texts of {path} "
                    + $"(quantization error {itq.Errors[0] / texts.Count:G4} → {itq.Errors[^1] / texts.Count:G4} per text)"
                    + (queryTexts is null ? "" : $", query thresholds from {queryTexts.Count} queries of {queryPath}") + $" → {target}");
            }
            else
            {
                Int8Ranges.Calibrate(embedder.ModelName, vectors).Save(target);
                Console.Error.WriteLine($"int8 ranges of {embedder.ModelName} at {dims} dimensions from {texts.Count} texts of {path} → {target}");
            }
            return 0;
        });
        return command;
    }
}
