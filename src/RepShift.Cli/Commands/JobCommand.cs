using System.CommandLine;
using System.Text.Json;
using RepShift.Cluster;
using RepShift.Cluster.Jobs;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift job embed</c>: a resumable bulk job, sharded, written as Parquet with a manifest.</summary>
internal static class JobCommand
{
    public static Command Create()
    {
        var command = new Command("job", "Bulk jobs over corpora too big for one command: sharded, resumable, written as Parquet.");
        command.Subcommands.Add(CreateEmbed());
        return command;
    }

    private static Command CreateEmbed()
    {
        var common = new CommonOptions();
        var input = new Option<string[]>("--input", "-i")
        {
            Description = "Inputs: text files (one text per line), .jsonl ({\"id\":…,\"text\":…}), .parquet (a text column), folders of .txt files, or globs such as 'data/*.jsonl'",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var output = new Option<string>("--output", "-o") { Description = "Output folder: one Parquet file per shard and manifest.json", Required = true }.OutputFolder();
        var shardSize = new Option<int>("--shard-size") { Description = "Records per shard: the unit of resuming and of work handed out", DefaultValueFactory = _ => 1000 }.Range(1);
        var textColumn = new Option<string>("--text-column") { Description = "The text column of Parquet inputs", DefaultValueFactory = _ => "text" };
        var command = new Command("embed", """
            Embed corpora into a folder of Parquet files (columns id, embedding, tokens, token_layers), one per shard
            of --shard-size records, each written under a temporary name and renamed when complete. manifest.json
            records the engine, the inputs and the finished shards: running the same command again resumes, skipping
            finished shards (counted as shards_skipped). Ids: a line's 0-based index, a JSONL/Parquet "id", a
            file's path relative to its folder; with several inputs each id is prefixed with its input's path and ':'.
            Progress (shards, texts/s, ETA) goes to stderr, a JSON summary to stdout.
            Example: repshift job embed --input ../shared/data/bbc-news --output bbc-vectors
            """);
        command.Options.Add(input);
        command.Options.Add(output);
        command.Options.Add(shardSize);
        command.Options.Add(textColumn);
        common.AddTo(command);
        command.SetAction((r, cancellation) =>
        {
            var paths = JobPlanner.Expand(r.GetValue(input)!);
            string folder = r.GetValue(output)!;
            var embedder = common.CreateEmbedder(r);
            var planned = JobPlanner.Plan(paths, r.GetValue(shardSize), r.GetValue(textColumn)!, EngineSignature.Of(embedder));
            var job = LocalJob.Resume(folder, planned);
            var progress = new ProgressLine(Console.Error, TimeSpan.FromSeconds(10));
            Console.Error.WriteLine($"{job.Shards.Count} shards, {job.Shards.Count(s => s.Done)} already done");
            var summary = LocalJob.Run(embedder, job, folder, progress, cancellation: cancellation);
            Console.Out.WriteLine(JsonSerializer.Serialize(summary, Cli.Json));
            return Task.FromResult(0);
        });
        return command;
    }
}
