using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RepShift.Cli.Serve;
using RepShift.Loading;
using RepShift.Text;

namespace RepShift.Tests;

/// <summary>
/// What operators need of <c>repshift serve</c> (issue 18): the API key, /metrics read with a strict Prometheus text
/// parser and matched against the requests sent, readiness only once the models are loaded and verified, and a
/// shutdown that answers every request it received. In-process, on the tiny random model.
/// </summary>
public class ServeOperationsTests
{
    private static readonly BertTextTokenizer TinyTokenizer = BertTextTokenizer.FromVocab(new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\n", TinyBert.Vocab))));

    private static TextEmbedder NewTiny(string name = "tiny") => new(new ModelBundle(name, TinyBert.Create(), TinyTokenizer), new EmbedderOptions { MaxTokens = 32, Threads = 1 });

    private static readonly Lazy<TextEmbedder> Tiny = new(() => NewTiny());

    private static async Task<(WebApplication App, HttpClient Client)> StartAsync(ServeOptions? options = null, MicroBatcher.EmbedFunction? embed = null)
    {
        var app = EmbeddingServer.Create(Tiny.Value, options ?? new ServeOptions(), b => b.WebHost.UseTestServer(), embed);
        await app.StartAsync();
        return (app, app.GetTestClient());
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient client, string json, string? key = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/embeddings") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client.SendAsync(request);
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) => JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    private static async Task<JsonElement> ErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return (await JsonAsync(response)).GetProperty("error");
    }

    [Fact]
    public async Task WithAnApiKeyRequestsWithoutItAre401AndWithIt200()
    {
        const string key = "sk-test-0123456789";
        var (app, client) = await StartAsync(new ServeOptions { ApiKey = key });
        await using var _ = app;
        foreach (var wrong in new string?[] { null, "sk-test-012345678", key + "x", "" })
        {
            var error = await ErrorAsync(await PostAsync(client, "{\"input\": \"the cat\"}", wrong), HttpStatusCode.Unauthorized);
            Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
            Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
            Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        }
        var basic = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        basic.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("user:" + key)));
        var refused = await client.SendAsync(basic);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("Bearer", refused.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/v1/models")).StatusCode);

        var ok = await PostAsync(client, "{\"input\": \"the cat\"}", key);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(Tiny.Value.Embed("the cat"), (await JsonAsync(ok)).GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()));
        // Probes and scraping stay open: a load balancer and Prometheus carry no key.
        foreach (var path in new[] { "/health", "/health/live", "/health/ready", "/metrics" })
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(path)).StatusCode);
    }

    [Fact]
    public async Task MetricsAuthPutsMetricsBehindTheKeyAndABadKeyIsRefusedAtStart()
    {
        var (app, client) = await StartAsync(new ServeOptions { ApiKey = "k3y", MetricsAuth = true });
        await using var _ = app;
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/metrics")).StatusCode);
        var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "k3y");
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(request)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
        Assert.Throws<RepShiftException>(() => new ServeOptions { ApiKey = "two words" }.Validate());
        Assert.Throws<RepShiftException>(() => new ServeOptions { MetricsAuth = true }.Validate());
    }

    [Fact]
    public void TwoEncodingFilesForOneModelAndDimensionCountAreRefusedAtStart()
    {
        var p = Embeddings.BinaryProjection.Identity("all-MiniLM-L6-v2", 8);
        var q = Embeddings.BinaryProjection.Identity("ALL-MiniLM-L6-v2", 8);
        var e = Assert.Throws<RepShiftException>(() => new ServeOptions { BinaryProjections = [p, q] }.Validate());
        Assert.Contains("--binary-projection: 2 files for all-MiniLM-L6-v2 at 8 dimensions", e.Message);
        new ServeOptions { BinaryProjections = [p, Embeddings.BinaryProjection.Identity("all-MiniLM-L6-v2", 16)] }.Validate();
        var r = Embeddings.Int8Ranges.Calibrate("m", [[1f, 2f]]);
        Assert.Contains("--int8-ranges: 2 files for m at 2 dimensions", Assert.Throws<RepShiftException>(() => new ServeOptions { Int8Ranges = [r, r] }.Validate()).Message);
    }

    [Fact]
    public async Task MetricsParseAsPrometheusTextAndCountTheRequestsSent()
    {
        var (app, client) = await StartAsync();
        await using var _ = app;
        // A second server in the same process: its registry is its own, so it must count nothing of the first's.
        var (other, otherClient) = await StartAsync();
        await using var __ = other;
        string[][] inputs = [["the cat"], ["the dog", "a cat sat"], ["on the mat", "the dog", "cat"]];
        long tokens = 0;
        foreach (var texts in inputs)
        {
            var body = await JsonAsync(await PostAsync(client, JsonSerializer.Serialize(new { input = texts, model = "tiny" })));
            tokens += body.GetProperty("usage").GetProperty("total_tokens").GetInt64();
        }
        Assert.Equal(Tiny.Value.Embed([.. inputs.SelectMany(t => t)]).TotalTokens, tokens);
        await ErrorAsync(await PostAsync(client, "{\"input\": \"a\", \"model\": \"gpt-4\"}"), HttpStatusCode.NotFound);
        await ErrorAsync(await PostAsync(client, "{\"input\": \"a\", \"model\": \"nope\"}"), HttpStatusCode.NotFound);
        await ErrorAsync(await PostAsync(client, "{\"input\": "), HttpStatusCode.BadRequest);
        await ErrorAsync(await PostAsync(client, "{\"input\": \"   \"}"), HttpStatusCode.BadRequest);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/models")).StatusCode);

        var scrape = await client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.Equal("text/plain", scrape.Content.Headers.ContentType?.MediaType);
        var metrics = PrometheusText.Parse(await scrape.Content.ReadAsStringAsync());
        double? Value(string name, params (string, string)[] labels) => PrometheusText.Value(metrics, name, labels);

        Assert.Equal("counter", metrics["repshift_requests_total"].Type);
        Assert.Equal(3, Value("repshift_requests_total", ("model", "tiny"), ("code", "200")));
        Assert.Equal(2, Value("repshift_requests_total", ("model", "none"), ("code", "404")));
        Assert.Equal(1, Value("repshift_requests_total", ("model", "none"), ("code", "400")));
        // The whitespace text was refused after its model was known.
        Assert.Equal(1, Value("repshift_requests_total", ("model", "tiny"), ("code", "400")));
        Assert.Equal(7, metrics["repshift_requests_total"].Samples.Sum(s => s.Value));
        Assert.Equal(6, Value("repshift_texts_total", ("model", "tiny")));
        Assert.Equal(tokens, Value("repshift_tokens_total", ("model", "tiny")));
        Assert.Equal("histogram", metrics["repshift_batch_texts"].Type);
        // Requests sent one after the other: one encoder batch each.
        Assert.Equal(3, Value("repshift_batch_texts_count", ("model", "tiny")));
        Assert.Equal(6, Value("repshift_batch_texts_sum", ("model", "tiny")));
        Assert.Equal(1, Value("repshift_batch_texts_bucket", ("model", "tiny"), ("le", "1")));
        Assert.Equal(2, Value("repshift_batch_texts_bucket", ("model", "tiny"), ("le", "2")));
        Assert.Equal("histogram", metrics["repshift_request_duration_seconds"].Type);
        Assert.Equal(4, Value("repshift_request_duration_seconds_count", ("model", "tiny")));
        Assert.Equal(3, Value("repshift_request_duration_seconds_count", ("model", "none")));
        Assert.Equal("gauge", metrics["repshift_queue_depth"].Type);
        Assert.Equal(0, Value("repshift_queue_depth", ("model", "tiny")));
        Assert.Equal(1, Value("repshift_ready"));

        var otherMetrics = PrometheusText.Parse(await otherClient.GetStringAsync("/metrics"));
        Assert.Empty(otherMetrics["repshift_requests_total"].Samples);
        Assert.Null(PrometheusText.Value(otherMetrics, "repshift_texts_total", ("model", "tiny")));
    }

    [Fact]
    public void ThePrometheusParserRefusesWhatIsNotTheFormat()
    {
        const string good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 3\n";
        Assert.Equal(3, PrometheusText.Value(PrometheusText.Parse(good), "a_total", ("x", "1")));
        foreach (var bad in new[]
        {
            "a_total 3\n", // no TYPE
            "# TYPE a_total counter\na_total{x=\"1\"} 3", // no final line feed
            "# TYPE a_total counter\na_total{x=1} 3\n", // unquoted label value
            "# TYPE a_total counter\na_total{x=\"\\t\"} 3\n", // escape not in the format
            "# TYPE a_total counter\na_total 3\na_total 4\n", // repeated sample
            "# TYPE a_total counter\na_total -1\n", // counter below zero
            "# TYPE a_total counter\na_total three\n",
            "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", // not cumulative
            "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n", // +Inf is not _count
            "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", // no +Inf bucket
        })
            Assert.Throws<FormatException>(() => PrometheusText.Parse(bad));
    }

    [Fact]
    public async Task ReadinessIsFalseUntilEveryModelIsLoadedAndVerified()
    {
        using var release = new ManualResetEventSlim();
        var app = EmbeddingServer.Create(
            [new ModelRegistry.Source("tiny", () => NewTiny()), new ModelRegistry.Source("slow", () =>
            {
                release.Wait(TimeSpan.FromSeconds(60));
                return NewTiny("slow");
            })],
            new ServeOptions(), b => b.WebHost.UseTestServer());
        await app.StartAsync();
        await using var _ = app;
        var client = app.GetTestClient();
        var registry = app.Services.GetRequiredService<ModelRegistry>();
        Assert.True(SpinWait.SpinUntil(() => registry.Loaded.Count == 1, TimeSpan.FromSeconds(60)));

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        var loading = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, loading.StatusCode);
        Assert.Equal("loading", (await JsonAsync(loading)).GetProperty("status").GetString());
        // Even the model already loaded is not served until all are: the server is ready as a whole or not at all.
        var early = await ErrorAsync(await PostAsync(client, "{\"input\": \"the cat\", \"model\": \"tiny\"}"), HttpStatusCode.ServiceUnavailable);
        Assert.Equal("model_loading", early.GetProperty("code").GetString());
        Assert.Equal(0, PrometheusText.Value(PrometheusText.Parse(await client.GetStringAsync("/metrics")), "repshift_ready"));

        release.Set();
        Assert.True(SpinWait.SpinUntil(() => registry.State == ServerState.Ready, TimeSpan.FromSeconds(60)));
        var ready = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal(["tiny", "slow"], (await JsonAsync(ready)).GetProperty("models").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(client, "{\"input\": \"the cat\", \"model\": \"slow\"}")).StatusCode);
    }

    [Fact]
    public async Task AModelThatFailsToLoadOrToVerifyStopsTheServer()
    {
        var app = EmbeddingServer.Create([new ModelRegistry.Source("tiny", () => NewTiny()), new ModelRegistry.Source("broken", () => throw new ModelFormatException("broken: no weights"))],
            new ServeOptions(), b => b.WebHost.UseTestServer());
        await app.StartAsync();
        var registry = app.Services.GetRequiredService<ModelRegistry>();
        Assert.True(app.Lifetime.ApplicationStopping.WaitHandle.WaitOne(TimeSpan.FromSeconds(60)), "the server stops itself");
        Assert.Equal(ServerState.Failed, registry.State);
        Assert.Equal("broken: no weights", registry.LoadError?.Message);
        await app.StopAsync();
        await app.DisposeAsync();

        // NaN weights: the model loads, but its probe vector is not finite.
        var weights = TinyBert.Create();
        Array.Fill(weights.WordEmbeddings, float.NaN);
        var nan = new TextEmbedder(new ModelBundle("nan", weights, TinyTokenizer), new EmbedderOptions { MaxTokens = 32, Threads = 1 });
        var error = Assert.Throws<RepShiftException>(() => EmbeddingServer.Create(nan, new ServeOptions(), b => b.WebHost.UseTestServer()));
        Assert.Contains("readiness probe", error.Message);
        nan.Dispose();
    }

    [Fact]
    public async Task ReadinessTurnsFalseWhenShutdownBeginsWhileTheRequestsReceivedStillFinish()
    {
        using var release = new ManualResetEventSlim();
        using var entered = new ManualResetEventSlim();
        var (app, client) = await StartAsync(embed: (texts, plan, _, _) =>
        {
            entered.Set();
            release.Wait(TimeSpan.FromSeconds(60));
            return Tiny.Value.Embed(texts, plan: plan);
        });
        var running = PostAsync(client, "{\"input\": \"the cat\"}");
        Assert.True(entered.Wait(TimeSpan.FromSeconds(60)));
        var queued = PostAsync(client, "{\"input\": \"the dog\"}");
        var registry = app.Services.GetRequiredService<ModelRegistry>();
        Assert.True(SpinWait.SpinUntil(() => registry.Loaded[0].Batcher.Queued == 1, TimeSpan.FromSeconds(30)));
        var stopping = app.StopAsync();
        Assert.True(app.Lifetime.ApplicationStopping.IsCancellationRequested);
        var ready = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal("stopping", (await JsonAsync(ready)).GetProperty("status").GetString());
        var late = await ErrorAsync(await PostAsync(client, "{\"input\": \"too late\"}"), HttpStatusCode.ServiceUnavailable);
        Assert.Equal("shutting_down", late.GetProperty("code").GetString());
        release.Set();
        Assert.Equal(HttpStatusCode.OK, (await running).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await queued).StatusCode);
        await stopping;
        await app.DisposeAsync();
    }
}
