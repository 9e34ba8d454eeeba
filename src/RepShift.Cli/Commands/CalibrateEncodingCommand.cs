using System.CommandLine;
using RepShift.Embeddings;
using RepShift.Evaluation;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift calibrate-encoding</c>: measure per-dimension int8 ranges on a corpus and write them for --int8-ranges.</summary>
internal static class CalibrateEncodingCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var data = new Option<string?>("--data") { Description = "Texts like the ones you will store: a file (one per line) or a folder of .txt files" };
        var limit = new Option<int>("--limit") { Description = "Texts to use (the first N)", DefaultValueFactory = _ => 2000 }.Range(1);
        var dimensions = new Option<int?>("--dimensions") { Description = "Calibrate the vectors truncated to N dimensions (default: all); the file serves only this count" }.Range(1, 1 << 16);
        var output = new Option<string?>("--output", "-o") { Description = $"Where to write the ranges (default: {VectorOptions.RangesFileName("N")} in the model's folder, or in the current folder for a built-in model or an .onnx file)" }.OutputFile();
        var command = new Command("calibrate-encoding", """
            Calibrate the int8 encoding: embeds the texts, takes each dimension's smallest and largest value and
            writes them as JSON with the model's name and the dimension count. --encoding int8 (embed, serve, eval
            retrieval) maps each range onto the 256 levels -128..127; values outside it are clamped, so calibrate
            on texts like the ones you will store. A file is refused for another model or dimension count.
            Example: repshift calibrate-encoding --data ../shared/data/bbc-news --dimensions 128 -o ranges-128.json
            """);
        foreach (var o in new Option[] { data, limit, dimensions, output }) command.Options.Add(o);
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
            var result = Cli.WithProgress("embedding", texts.Count, p => embedder.Embed(texts, p));
            var ranges = Int8Ranges.Calibrate(embedder.ModelName, Matryoshka.Truncate(result.Vectors, dims));
            string target = r.GetValue(output) ?? VectorOptions.DefaultRangesPath(r.GetValue(common.Model), dims);
            ranges.Save(target);
            Console.Error.WriteLine($"int8 ranges of {embedder.ModelName} at {dims} dimensions from {texts.Count} texts of {path} → {target}");
            return 0;
        });
        return command;
    }
}
