using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using RepShift.Cluster;
using RepShift.Cluster.Jobs;
using RepShift.Cluster.Orleans;
using RepShift.Cluster.Postgres;

namespace RepShift.Tests;

/// <summary>PostgreSQL clustering against a real server: the schema, membership of two silos, the job manifest's lease and resume.</summary>
public class PostgresClusterTests
{
    private static string Connection => PostgresFactAttribute.ConnectionString;

    [PostgresFact]
    public async Task Schema_applies_twice_and_concurrently_without_change()
    {
        await Task.WhenAll(PostgresSchema.EnsureAsync(Connection), PostgresSchema.EnsureAsync(Connection));
        await PostgresSchema.EnsureAsync(Connection);
        await using var connection = new NpgsqlConnection(Connection);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM OrleansQuery WHERE QueryKey = ANY($1)", connection);
        count.Parameters.Add(new NpgsqlParameter { Value = new[] { "InsertMembershipKey", "UpdateMembershipKey", "MembershipReadAllKey", "GatewaysQueryKey", "CleanupDefunctSiloEntryKey" } });
        Assert.Equal(5L, await count.ExecuteScalarAsync());
        await using var tables = new NpgsqlCommand("SELECT count(*) FROM information_schema.tables WHERE table_name IN ('repshift_membership', 'repshift_membership_version', 'repshift_jobs', 'repshift_job_shards')", connection);
        Assert.Equal(4L, await tables.ExecuteScalarAsync());
    }

    [PostgresFact]
    public async Task Two_silos_join_through_PostgreSQL_and_the_manifest_leases_resumes_and_records_each_shard_once()
    {
        using var dir = new TempDirectory();
        using var embedder = BulkEmbedTests.TinyEmbedder(dir);
        var texts = BulkEmbedTests.Texts(120, seed: 5);
        string input = dir.Write("in.txt", string.Join('\n', texts));
        string output = dir.File("out");
        var address = ClusterAddress.Parse(Connection);
        // A cluster id of its own: rows of earlier runs' silos (dead or not) are not this cluster's.
        string clusterId = "test-" + Guid.NewGuid().ToString("N")[..12];
        await ClusterHosting.PrepareAsync(address);
        var silos = new List<IHost>();
        try
        {
            for (int i = 0; i < 2; i++)
            {
                var b = Host.CreateApplicationBuilder();
                b.Logging.SetMinimumLevel(LogLevel.Warning);
                string model = dir.File("tiny");
                b.UseOrleans(s =>
                {
                    s.UseRepShiftCluster(address, FreePort(), FreePort(), 0, IPAddress.Loopback, clusterId);
                    s.AddEmbeddingNode(() => TextEmbedder.Load(model, new EmbedderOptions { MaxTokens = 16, BatchSize = 5, Threads = 1 }));
                });
                var silo = b.Build();
                await silo.StartAsync();
                silos.Add(silo);
            }
            var cb = Host.CreateApplicationBuilder();
            cb.Logging.SetMinimumLevel(LogLevel.Warning);
            cb.UseOrleansClient(c => c.UseRepShiftCluster(address, [], clusterId));
            using var clientHost = cb.Build();
            await clientHost.StartAsync();
            var client = clientHost.Services.GetRequiredService<IClusterClient>();
            Assert.Equal(2, (await client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true)).Count);

            var planned = JobPlanner.Plan([input], 5, "text", EngineSignature.Of(embedder));
            Assert.Equal(24, planned.Shards.Count);
            string jobId = "test-job-" + Guid.NewGuid().ToString("N");
            var embeddedShards = new List<int>();
            var nodes = new HashSet<string>();

            // First coordinator: stopped after 8 shards.
            using (var stop = new CancellationTokenSource())
            {
                await using var first = await PostgresJobStore.ClaimAsync(Connection, jobId, planned, output);
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ClusterJob.RunAsync(client, first.Job, output, 4, TimeSpan.FromSeconds(60),
                    shardDone: (s, node) =>
                    {
                        embeddedShards.Add(s.Id);
                        nodes.Add(node);
                        if (embeddedShards.Count == 8) stop.Cancel();
                    }, cancellation: stop.Token, ledger: first));
            }
            Assert.Equal((8, 24), await PostgresJobStore.CountAsync(Connection, jobId));

            // Second coordinator resumes (clearing a shard file the first left half-written); a third one meanwhile is refused by the lease.
            string stale = Path.Combine(output, ".shard-000009.parquet.4242.0123456789abcdef.tmp");
            File.WriteAllText(stale, "half a shard");
            var again = JobPlanner.Plan([input], 5, "text", EngineSignature.Of(embedder));
            await using (var second = await PostgresJobStore.ClaimAsync(Connection, jobId, again, output))
            {
                Assert.False(File.Exists(stale));
                Assert.Equal(8, second.Job.Shards.Count(s => s.Done));
                var refused = await Assert.ThrowsAsync<RepShiftException>(() => PostgresJobStore.ClaimAsync(Connection, jobId, JobPlanner.Plan([input], 5, "text", EngineSignature.Of(embedder)), output));
                Assert.Contains("is being run by another coordinator", refused.Message, StringComparison.Ordinal);
                var summary = await ClusterJob.RunAsync(client, second.Job, output, 4, TimeSpan.FromSeconds(60),
                    shardDone: (s, node) => { embeddedShards.Add(s.Id); nodes.Add(node); }, ledger: second);
                Assert.Equal(8, summary.ShardsSkipped);
                Assert.Equal(16, summary.ShardsEmbedded);
            }
            Assert.Equal((24, 24), await PostgresJobStore.CountAsync(Connection, jobId));
            // Every shard embedded exactly once over both coordinators, by both nodes.
            Assert.Equal(Enumerable.Range(0, 24), embeddedShards.Order());
            Assert.Equal(2, nodes.Count);
            var rows = Directory.GetFiles(output, "shard-*.parquet").Order(StringComparer.Ordinal).SelectMany(RepShift.Cluster.Outputs.EmbeddingParquet.ReadAll).ToList();
            Assert.Equal(Enumerable.Range(0, 120).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), rows.Select(r => r.Id));
            var vectors = embedder.Embed(texts).Vectors;
            for (int i = 0; i < rows.Count; i++) Assert.Equal(vectors[i], rows[i].Embedding);
            Assert.False(File.Exists(Path.Combine(output, JobManifest.FileName)));
            await clientHost.StopAsync();
        }
        finally
        {
            foreach (var silo in silos)
            {
                await silo.StopAsync();
                silo.Dispose();
            }
        }
    }

    [Fact]
    public void Cluster_option_accepts_localhost_and_PostgreSQL_forms_and_refuses_others_hiding_passwords()
    {
        Assert.False(ClusterAddress.Parse("localhost").IsPostgres);
        var uri = ClusterAddress.Parse("postgres://repshift:se%40cret@db.example:5433/vectors?Timeout=5");
        var b = new NpgsqlConnectionStringBuilder(uri.ConnectionString);
        Assert.Equal(("db.example", 5433, "repshift", "se@cret", "vectors", 5), (b.Host, b.Port, b.Username, b.Password, b.Database, b.Timeout));
        Assert.True(ClusterAddress.Parse(PostgresFactAttribute.DefaultConnection).IsPostgres);
        var e = Assert.Throws<RepShiftException>(() => ClusterAddress.Parse("Server=db;Password=hunter2"));
        Assert.Contains("use 'localhost'", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Node_job_and_serve_refuse_another_cluster_value_before_starting()
    {
        foreach (var (command, args) in new (System.CommandLine.Command, string[])[]
        {
            (RepShift.Cli.Commands.NodeCommand.Create(), ["node", "--cluster", "consul://x"]),
            (RepShift.Cli.Commands.JobCommand.Create(), ["job", "embed", "--input", "x.txt", "--output", ".", "--cluster", "db.example"]),
            (RepShift.Cli.Commands.ServeCommand.Create(), ["serve", "--cluster", "Server=db;Password=hunter2"]),
        })
        {
            var errors = new StringWriter();
            Assert.Equal(2, RepShift.Cli.Cli.Invoke(new System.CommandLine.RootCommand { command }, args, errors));
            Assert.Contains("use 'localhost' (nodes on this machine) or a PostgreSQL connection string", errors.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("hunter2", errors.ToString(), StringComparison.Ordinal);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
