using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
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
    public async Task StoppingUnderLoadAnswersEveryRequestItReceived()
    {
        // The worker can be held, so that at the moment of the stop requests are certainly queued behind it.
        using var held = new ManualResetEventSlim(true);
        using var entered = new ManualResetEventSlim();
        bool hold = false;
        // Batches of at most 4 texts: with 16 clients, the held batch cannot take every request in flight.
        var app = EmbeddingServer.Create(Embedder.Value, new ServeOptions { MaxBatchTexts = 4 }, b =>
        {
            b.Logging.ClearProviders();
            b.WebHost.UseUrls("http://127.0.0.1:0");
        }, (texts, plan, _, _) =>
        {
            if (Volatile.Read(ref hold))
            {
                entered.Set();
                held.Wait(TimeSpan.FromSeconds(60));
            }
            return Embedder.Value.Embed(texts, plan: plan);
        });
        await app.StartAsync();
        var url = new Uri(new Uri(app.Urls.First()), "/v1/embeddings");
        var registry = app.Services.GetRequiredService<ModelRegistry>();
        var batcher = registry.Loaded[0].Batcher;
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 16, UseProxy = false });
        int answered = 0, ok = 0, refusedAtStop = 0, failures = 0;
        var stopped = new TaskCompletionSource();
        var clients = Enumerable.Range(0, 16).Select(c => Task.Run(async () =>
        {
            for (int i = 0; !stopped.Task.IsCompleted; i++)
            {
                string text = $"client {c} sentence {i} about cats";
                HttpResponseMessage response;
                string body;
                try
                {
                    response = await http.PostAsync(url, new StringContent(JsonSerializer.Serialize(new { input = text }), Encoding.UTF8, "application/json"));
                    body = await response.Content.ReadAsStringAsync();
                }
                catch (HttpRequestException)
                {
                    // No connection (the listener has closed) or one closed before the request was read: the server counts
                    // what it received, so a request it dropped shows as a difference below.
                    await Task.Delay(5);
                    continue;
                }
                var json = JsonDocument.Parse(body).RootElement;
                if (response.StatusCode == HttpStatusCode.OK && json.GetProperty("data")[0].GetProperty("embedding").GetArrayLength() == Embedder.Value.Dimension)
                    Interlocked.Increment(ref ok);
                else if (response.StatusCode == HttpStatusCode.ServiceUnavailable && json.GetProperty("error").GetProperty("code").GetString() == "shutting_down")
                    Interlocked.Increment(ref refusedAtStop);
                else Interlocked.Increment(ref failures);
                Interlocked.Increment(ref answered);
            }
        })).ToArray();
        Assert.True(await Until(() => Volatile.Read(ref answered) >= 200, TimeSpan.FromSeconds(120)), "the load ran");
        held.Reset();
        Volatile.Write(ref hold, true);
        Assert.True(await Until(() => entered.IsSet, TimeSpan.FromSeconds(60)), "the worker took the held batch");
        Assert.True(await Until(() => batcher.Queued >= 4, TimeSpan.FromSeconds(60)), "requests queued behind the held batch");
        int okBeforeStop = Volatile.Read(ref ok);
        int queuedAtStop = batcher.Queued;
        var stopping = app.StopAsync();
        Assert.True(await Until(() => batcher.Stopping, TimeSpan.FromSeconds(60)), "the batcher saw the stop");
        held.Set();
        await stopping;
        stopped.SetResult();
        await Task.WhenAll(clients);
        var (received, handled) = EmbeddingServer.Counts(app);
        await app.DisposeAsync();

        Assert.Equal(0, failures);
        // Everything the server received got a whole JSON answer, and those queued at the stop were embedded, not refused.
        Assert.Equal(received, handled);
        Assert.Equal(received, answered);
        Assert.True(ok - okBeforeStop >= queuedAtStop, $"{ok - okBeforeStop} answered 200 after the stop, {queuedAtStop} were queued");
    }

    /// <summary>
    /// Polls without holding a thread: the held batch already blocks one thread-pool thread, and on 2 cores a test
    /// thread blocked in a spin-wait as well left Kestrel and the clients starved while other tests ran (a CI run under
    /// load failed "requests queued behind the held batch" after 60 s).
    /// </summary>
    private static async Task<bool> Until(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(10);
        }
        return true;
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
