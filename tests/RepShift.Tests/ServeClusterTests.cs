using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using RepShift.Cli.Serve;
using RepShift.Cluster;
using RepShift.Cluster.Orleans;

namespace RepShift.Tests;

/// <summary><c>serve --cluster</c> in process: the HTTP front end forwards to worker grains on TestingHost silos.</summary>
public class ServeClusterTests
{
    /// <summary>A front end as serve --cluster builds it, over <paramref name="cluster"/>'s client.</summary>
    private static async Task<(Microsoft.AspNetCore.Builder.WebApplication App, HttpClient Client)> StartFrontEnd(TextEmbedder embedder, TestCluster cluster, TimeSpan timeout)
    {
        var app = EmbeddingServer.Create([new ModelRegistry.Source(embedder.ModelName, () => embedder, Owned: false)], new ServeOptions(),
            b => b.WebHost.UseTestServer(), embed: e => new ClusterEmbedder(cluster.Client, EngineSignature.Of(e), timeout).Embed, remote: true);
        await app.StartAsync();
        var registry = app.Services.GetRequiredService<ModelRegistry>();
        Assert.True(SpinWait.SpinUntil(() => registry.State != ServerState.Loading, TimeSpan.FromSeconds(60)));
        Assert.Equal(ServerState.Ready, registry.State);
        return (app, app.GetTestClient());
    }

    private static Task<HttpResponseMessage> Post(HttpClient client, IEnumerable<string> texts) =>
        client.PostAsync("/v1/embeddings", new StringContent(JsonSerializer.Serialize(new { input = texts }), Encoding.UTF8, "application/json"));

    [Fact]
    public async Task Forwarded_vectors_equal_a_local_engine_bit_for_bit()
    {
        using var dir = new TempDirectory();
        using var embedder = BulkEmbedTests.TinyEmbedder(dir);
        var cluster = await ClusterJobTests.StartCluster(dir, 2);
        try
        {
            var (app, client) = await StartFrontEnd(embedder, cluster, TimeSpan.FromSeconds(30));
            await using var _ = app;
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
            // 40 texts: three parts of one batch, spread over the two silos.
            var texts = BulkEmbedTests.Texts(40, seed: 9);
            var answer = await Post(client, texts);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            var data = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetProperty("data");
            var expected = embedder.Embed(texts).Vectors;
            for (int i = 0; i < texts.Count; i++)
                Assert.Equal(expected[i], data[i].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray());
        }
        finally
        {
            await ClusterJobTests.StopCluster(cluster);
        }
    }

    [Fact]
    public async Task With_no_node_left_a_request_is_an_OpenAI_shaped_503()
    {
        using var dir = new TempDirectory();
        using var embedder = BulkEmbedTests.TinyEmbedder(dir);
        var cluster = await ClusterJobTests.StartCluster(dir, 1);
        try
        {
            var (app, client) = await StartFrontEnd(embedder, cluster, TimeSpan.FromSeconds(3));
            await using var _ = app;
            Assert.Equal(HttpStatusCode.OK, (await Post(client, ["the cat"])).StatusCode);
            await cluster.KillSiloAsync(cluster.Primary!);
            var answer = await Post(client, ["the cat", "a dog"]);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
            var error = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
            Assert.Equal("cluster_unavailable", error.GetProperty("code").GetString());
            Assert.Contains("no embedding node answered within 3 s", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }
}
