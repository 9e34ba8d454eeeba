using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using RepShift.Cluster;
using RepShift.Cluster.Jobs;
using RepShift.Cluster.Orleans;
using RepShift.Cluster.Postgres;

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
        var cluster = ClusterOption.Create("Run on the nodes of a cluster instead of in this process; with PostgreSQL the job's manifest is kept there too");
        var gateways = new Option<string>("--gateways") { Description = "With --cluster localhost: the nodes' gateway ports, comma-separated", DefaultValueFactory = _ => "30000" };
        var leaseTimeout = new Option<int>("--lease-timeout") { Description = "Seconds a node may hold a shard (waiting behind the shard it is embedding included) before it is handed to another", DefaultValueFactory = _ => 600 }.Range(1);
        var command = new Command("embed", """
            Embed corpora into a folder of Parquet files (columns id, embedding, tokens, token_layers), one per shard
            of --shard-size records, each written under a temporary name and renamed when complete. manifest.json
            records the engine, the inputs and the finished shards: running the same command again resumes, skipping
            finished shards (counted as shards_skipped). Ids: a line's 0-based index, a JSONL/Parquet "id", a
            file's path relative to its folder; with several inputs each id is prefixed with its input's path and ':'.
            Progress (shards, texts/s, ETA) goes to stderr, a JSON summary to stdout. With --cluster the shards are
            leased to `repshift node` processes (the output folder must be the same path for every node): a node
            that dies loses only its leased shards, which go back to the queue after it is declared dead or after
            --lease-timeout; the manifest is written by this process alone. With a PostgreSQL --cluster the manifest
            is a table row keyed by the output folder's full path (no manifest.json): this process leases the job, so a
            second coordinator of the same job is refused while it runs, and a re-run skips the shards recorded done.
            Examples: repshift job embed --input ../shared/data/bbc-news --output bbc-vectors
                      repshift job embed --input docs --output /shared/vectors --cluster 'Host=db;Username=repshift;Password=repshift;Database=repshift'
            """);
        command.Options.Add(input);
        command.Options.Add(output);
        command.Options.Add(shardSize);
        command.Options.Add(textColumn);
        command.Options.Add(cluster);
        command.Options.Add(gateways);
        command.Options.Add(leaseTimeout);
        gateways.Validators.Add(v =>
        {
            if (!v.Implicit && v.Tokens.Count > 0 && OptionChecks.ParseIntList(gateways.Name, v.Tokens[0].Value, 1, 65535, out _) is { } error) v.AddError(error);
        });
        common.AddTo(command);
        command.SetAction(async (r, cancellation) =>
        {
            var paths = JobPlanner.Expand(r.GetValue(input)!);
            string folder = r.GetValue(output)!;
            var embedder = common.CreateEmbedder(r);
            var planned = JobPlanner.Plan(paths, r.GetValue(shardSize), r.GetValue(textColumn)!, EngineSignature.Of(embedder));
            var progress = new ProgressLine(Console.Error, TimeSpan.FromSeconds(10));
            JobSummary summary;
            if (ClusterOption.Get(r, cluster) is not { } address)
            {
                var job = LocalJob.Resume(folder, planned);
                Console.Error.WriteLine($"{job.Shards.Count} shards, {job.Shards.Count(s => s.Done)} already done");
                summary = LocalJob.Run(embedder, job, folder, progress, cancellation: cancellation);
            }
            else
            {
                OptionChecks.ParseIntList(gateways.Name, r.GetValue(gateways)!, 1, 65535, out int[] ports);
                await ClusterHosting.PrepareAsync(address, cancellation);
                // PostgreSQL: the job's row is its manifest, keyed by the output folder every node writes to.
                await using var store = address.ConnectionString is { } db
                    ? await PostgresJobStore.ClaimAsync(db, Path.GetFullPath(folder), planned, folder, cancellation: cancellation)
                    : null;
                var job = store?.Job ?? LocalJob.Resume(folder, planned);
                Console.Error.WriteLine($"{job.Shards.Count} shards, {job.Shards.Count(s => s.Done)} already done{(store is null ? "" : $" (manifest in {address.Display}, job '{store.JobId}')")}");
                var builder = Host.CreateApplicationBuilder();
                builder.Logging.SetMinimumLevel(LogLevel.Warning);
                // The lease decides when a shard is given up, not Orleans' 30 s call timeout: a 1,000-article shard on one
                // thread takes ~45 s, and with the default timeout every such shard was abandoned and re-leased forever.
                var lease = TimeSpan.FromSeconds(r.GetValue(leaseTimeout));
                builder.UseOrleansClient(c => c.UseRepShiftCluster(address, ports)
                    .Configure<ClientMessagingOptions>(o => o.ResponseTimeout = lease + TimeSpan.FromMinutes(1)));
                using var host = builder.Build();
                try { await host.StartAsync(cancellation); }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    throw new RepShiftException($"cannot reach the cluster ({(address.IsPostgres ? address.Display : $"gateway port(s) {string.Join(",", ports)}")}: {e.Message}); start `repshift node` first");
                }
                var grains = host.Services.GetRequiredService<IClusterClient>();
                // Two shards in flight per node: PostgreSQL lists the nodes itself, localhost has one per given gateway port.
                int inFlight = address.IsPostgres ? Math.Max(2, 2 * (await LiveNodes(grains))) : 2 * ports.Length;
                summary = await ClusterJob.RunAsync(grains, job, Path.GetFullPath(folder), inFlight,
                    lease, progress, cancellation: cancellation, ledger: store);
                await host.StopAsync(CancellationToken.None);
            }
            Console.Out.WriteLine(JsonSerializer.Serialize(summary, Cli.Json));
            return 0;
        });
        return command;
    }

    /// <summary>Active nodes as the cluster's management grain sees them.</summary>
    private static async Task<int> LiveNodes(IClusterClient client) =>
        (await client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true)).Count;
}
