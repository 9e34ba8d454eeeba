using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using RepShift.Cli.Benchmarks;
using RepShift.Cli.Serve;

namespace RepShift.Tests;

/// <summary>The server on real Kestrel over loopback, and the load test's arithmetic.</summary>
public class ServeLoadTests
{
    private static readonly Lazy<TextEmbedder> Embedder = new(() => TextEmbedder.Load());

    [Fact]
    public async Task KestrelOnLoopbackServesAndRefusesAChunkedBodyOverTheLimit()
    {
        var app = EmbeddingServer.Create(Embedder.Value, new ServeOptions { MaxBodyBytes = 4096 }, b =>
        {
            b.Logging.ClearProviders();
            b.WebHost.UseUrls("http://127.0.0.1:0");
        });
        await app.StartAsync();
        await using var _ = app;
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        var ok = await http.PostAsync("/v1/embeddings", new StringContent("{\"input\": \"over the wire\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("1", ok.Headers.GetValues(EmbeddingServer.BatchHeader).Single());
        var vector = JsonDocument.Parse(await ok.Content.ReadAsStringAsync()).RootElement.GetProperty("data")[0].GetProperty("embedding");
        Assert.Equal(Embedder.Value.Embed("over the wire"), vector.EnumerateArray().Select(e => e.GetSingle()));

        // No Content-Length: the limit has to be found while reading.
        var big = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { input = new string('x', 10_000) }))));
        big.Headers.ContentType = new("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/embeddings") { Content = big };
        request.Headers.TransferEncodingChunked = true;
        var refused = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        Assert.Equal("invalid_request_error", JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public void PercentilesAreNearestRankAndRoundsMerge()
    {
        double[] latencies = [.. Enumerable.Range(1, 100).Select(i => (double)i)];
        var a = new ServeLoadResult("none", true, 100, 0, 10, latencies, 4);
        Assert.Equal(50, a.Percentile(50));
        Assert.Equal(99, a.Percentile(99));
        Assert.Equal(100, a.Percentile(100));
        Assert.Equal(10, a.RequestsPerSecond);
        var b = new ServeLoadResult("none", true, 50, 2, 10, [.. Enumerable.Range(101, 50).Select(i => (double)i)], 1);
        var merged = ServeLoadResult.Merge([a, b]);
        Assert.Equal(150, merged.Requests);
        Assert.Equal(2, merged.Errors);
        Assert.Equal(7.5, merged.RequestsPerSecond);
        Assert.Equal(75, merged.Percentile(50));
        Assert.Equal(3, merged.MeanBatchTexts);
    }
}
