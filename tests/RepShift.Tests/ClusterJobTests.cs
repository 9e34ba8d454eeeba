using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.TestingHost;
using RepShift.Cluster;
using RepShift.Cluster.Jobs;
using RepShift.Cluster.Orleans;

namespace RepShift.Tests;

/// <summary>The clustered job on Orleans' TestingHost: three silos, one killed mid-job.</summary>
public class ClusterJobTests
{
    private const string ModelKey = "RepShiftTestModel";

    /// <summary>Each silo loads its own engine from the tiny model folder named in the cluster's properties.</summary>
    public sealed class NodeConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            string model = silo.Configuration[ModelKey] ?? throw new InvalidOperationException("no model folder in the test cluster's properties");
            silo.AddEmbeddingNode(() => TextEmbedder.Load(model, new EmbedderOptions { MaxTokens = 16, BatchSize = 5, Threads = 1 }));
        }
    }

    /// <summary>Deploys <paramref name="silos"/> nodes, each on the tiny model written into <paramref name="dir"/>.</summary>
    internal static async Task<TestCluster> StartCluster(TempDirectory dir, int silos)
    {
        var builder = new TestClusterBuilder((short)silos);
        builder.Properties[ModelKey] = dir.File("tiny");
        builder.AddSiloBuilderConfigurator<NodeConfigurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    internal static async Task StopCluster(TestCluster cluster)
    {
        await cluster.StopAllSilosAsync();
        await cluster.DisposeAsync();
    }

    [Fact]
    public async Task Three_nodes_one_killed_mid_job_every_id_once_vectors_equal_one_node()
    {
        using var dir = new TempDirectory();
        using var embedder = BulkEmbedTests.TinyEmbedder(dir);
        var texts = BulkEmbedTests.Texts(1000, seed: 21);
        string input = dir.Write("in.txt", string.Join('\n', texts));
        string output = dir.File("out");

        var cluster = await StartCluster(dir, 3);
        try
        {
            var job = LocalJob.Resume(output, JobPlanner.Plan([input], 5, "text", EngineSignature.Of(embedder)));
            Assert.Equal(200, job.Shards.Count);
            var byNode = new Dictionary<string, int>();
            Task? kill = null;
            string? killed = null;
            var summary = await ClusterJob.RunAsync(cluster.GrainFactory, job, output, inFlight: 6, leaseTimeout: TimeSpan.FromSeconds(30),
                shardDone: (_, node) =>
                {
                    byNode[node] = byNode.GetValueOrDefault(node) + 1;
                    // After 40 shards, kill a secondary silo that has done work (its in-flight shards must be leased again).
                    if (kill is null && byNode.Values.Sum() >= 40 && cluster.SecondarySilos.FirstOrDefault(s => byNode.ContainsKey(s.SiloAddress.ToString())) is { } victim)
                    {
                        killed = victim.SiloAddress.ToString();
                        kill = cluster.KillSiloAsync(victim);
                    }
                });
            Assert.NotNull(kill);
            await kill;
            Assert.Equal(200, summary.ShardsEmbedded);
            Assert.Equal(1000, summary.TextsEmbedded);
            Assert.True(byNode.Count >= 2, $"work reached {byNode.Count} node(s)");

            var rows = Directory.GetFiles(output, "shard-*.parquet").Order(StringComparer.Ordinal).SelectMany(RepShift.Cluster.Outputs.EmbeddingParquet.ReadAll).ToList();
            Assert.Equal(Enumerable.Range(0, 1000).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), rows.Select(r => r.Id));
            var vectors = embedder.Embed(texts).Vectors;
            for (int i = 0; i < rows.Count; i++) Assert.Equal(vectors[i], rows[i].Embedding);
            Assert.Empty(Directory.GetFiles(output, "*.tmp"));
        }
        finally
        {
            await StopCluster(cluster);
        }
    }

    [Fact]
    public async Task A_node_embeds_one_shard_at_a_time_however_many_are_leased_to_it()
    {
        // Each lease is a new grain key, so Orleans runs one activation per shard; a node given --threads 1 must still
        // use one engine thread, not one per shard in flight (it used to run them all at once: 2 cores for "1 thread").
        using var dir = new TempDirectory();
        using var embedder = BulkEmbedTests.TinyEmbedder(dir);
        var texts = BulkEmbedTests.Texts(200, seed: 5);
        string input = dir.Write("in.txt", string.Join('\n', texts));
        var cluster = await StartCluster(dir, 1);
        try
        {
            var job = LocalJob.Resume(dir.File("out"), JobPlanner.Plan([input], 10, "text", EngineSignature.Of(embedder)));
            var summary = await ClusterJob.RunAsync(cluster.GrainFactory, job, dir.File("out"), inFlight: 8, leaseTimeout: TimeSpan.FromSeconds(60));
            Assert.Equal(20, summary.ShardsEmbedded);
            var node = Assert.IsType<InProcessSiloHandle>(cluster.Primary).SiloHost!.Services.GetRequiredService<NodeEngine>();
            Assert.Equal(1, node.MostAtOnce);
        }
        finally
        {
            await StopCluster(cluster);
        }
    }

    [Fact]
    public async Task A_node_with_another_engine_refuses_the_job_with_a_clear_error()
    {
        using var dir = new TempDirectory();
        using var embedder = BulkEmbedTests.TinyEmbedder(dir);
        string input = dir.Write("in.txt", string.Join('\n', BulkEmbedTests.Texts(10)));
        var cluster = await StartCluster(dir, 1);
        try
        {
            // The job asks for a compressed plan; the node runs dense.
            using var other = embedder.WithCompression(new RepShift.Compression.CompressionPlan { Metric = "norm", PruneAt = [0], Keep = 0.5 });
            var job = LocalJob.Resume(dir.File("out"), JobPlanner.Plan([input], 5, "text", EngineSignature.Of(other)));
            var e = await Assert.ThrowsAsync<RepShiftException>(() => ClusterJob.RunAsync(cluster.GrainFactory, job, dir.File("out"), 2, TimeSpan.FromSeconds(30)));
            Assert.Contains("refuses the job: its engine differs (compression plan dense vs", e.Message, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFiles(dir.File("out"), "*.parquet"));
        }
        finally
        {
            await StopCluster(cluster);
        }
    }

    [Fact]
    public async Task A_shard_that_fails_on_the_node_every_time_stops_the_job_with_its_error()
    {
        using var dir = new TempDirectory();
        using var embedder = BulkEmbedTests.TinyEmbedder(dir);
        string input = dir.Write("in.txt", string.Join('\n', BulkEmbedTests.Texts(10)));
        var cluster = await StartCluster(dir, 1);
        try
        {
            var job = LocalJob.Resume(dir.File("out"), JobPlanner.Plan([input], 5, "text", EngineSignature.Of(embedder)));
            File.Delete(input); // every lease of every shard now fails on the node, the same way
            // Bounded, so that a coordinator that leases a poison shard forever fails here instead of hanging the run.
            var e = await Assert.ThrowsAsync<RepShiftException>(() => ClusterJob.RunAsync(cluster.GrainFactory, job, dir.File("out"), 2, TimeSpan.FromSeconds(30))
                .WaitAsync(TimeSpan.FromMinutes(2)));
            Assert.Contains($"failed {ClusterJob.MaxShardFailures} times on the nodes", e.Message, StringComparison.Ordinal);
            Assert.Contains("in.txt", e.Message, StringComparison.Ordinal); // the node's own message, not a serializer's
        }
        finally
        {
            await StopCluster(cluster);
        }
    }
}
