using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using RepShift.Cli.Serve;
using RepShift.Compression;
using RepShift.Embeddings;
using RepShift.Evaluation;

namespace RepShift.Tests;

/// <summary><c>repshift serve</c> in-process (ASP.NET Core TestServer): OpenAI-shaped answers, errors, concurrency, a full queue, shutdown.</summary>
public class ServerTests
{
    private static readonly Lazy<TextEmbedder> Embedder = new(() => TextEmbedder.Load());

    private static readonly string LongText = string.Join(" ", Enumerable.Repeat("a long text that the balanced preset compresses", 20));

    /// <summary>A started test server; <paramref name="embed"/> replaces the encoder call (to hold the worker).</summary>
    private static async Task<(WebApplication App, HttpClient Client)> StartAsync(ServeOptions? options = null, MicroBatcher.EmbedFunction? embed = null)
    {
        var app = EmbeddingServer.Create(Embedder.Value, options ?? new ServeOptions(), b => b.WebHost.UseTestServer(), embed);
        await app.StartAsync();
        return (app, app.GetTestClient());
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient client, string json) =>
        client.PostAsync("/v1/embeddings", new StringContent(json, Encoding.UTF8, "application/json"));

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    private static float[] Floats(JsonElement embedding) => [.. embedding.EnumerateArray().Select(e => e.GetSingle())];

    private static async Task<float[][]> EmbedOverHttpAsync(HttpClient client, string json)
    {
        var response = await PostAsync(client, json);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await JsonAsync(response);
        return [.. body.GetProperty("data").EnumerateArray().Select(d => Floats(d.GetProperty("embedding")))];
    }

    [Fact]
    public async Task StringAndArrayGetOpenAiShapedAnswers()
    {
        var (app, client) = await StartAsync();
        await using var _ = app;
        string[] texts = ["A man is playing a guitar.", "Someone plays an instrument.", "ok"];
        var expected = Embedder.Value.Embed(texts);

        var one = await JsonAsync(await PostAsync(client, JsonSerializer.Serialize(new { input = texts[0], model = "all-MiniLM-L6-v2" })));
        Assert.Equal("list", one.GetProperty("object").GetString());
        Assert.Equal("all-MiniLM-L6-v2", one.GetProperty("model").GetString());
        var item = Assert.Single(one.GetProperty("data").EnumerateArray());
        Assert.Equal("embedding", item.GetProperty("object").GetString());
        Assert.Equal(0, item.GetProperty("index").GetInt32());
        Assert.Equal(expected.Vectors[0], Floats(item.GetProperty("embedding")));
        Assert.Equal(expected.Tokens[0], one.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(expected.Tokens[0], one.GetProperty("usage").GetProperty("total_tokens").GetInt32());

        var many = await JsonAsync(await PostAsync(client, JsonSerializer.Serialize(new { input = texts })));
        var data = many.GetProperty("data").EnumerateArray().ToArray();
        Assert.Equal(texts.Length, data.Length);
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.Equal(i, data[i].GetProperty("index").GetInt32());
            Assert.Equal(expected.Vectors[i], Floats(data[i].GetProperty("embedding")));
        }
        Assert.Equal(expected.TotalTokens, many.GetProperty("usage").GetProperty("prompt_tokens").GetInt64());

        var health = await JsonAsync(await client.GetAsync("/health"));
        Assert.Equal("ok", health.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Base64IsLittleEndianFloat32OfTheSameVectors()
    {
        var (app, client) = await StartAsync();
        await using var _ = app;
        string[] texts = ["The cat sat on the mat.", "A dog barked at the mailman."];
        var body = await JsonAsync(await PostAsync(client, JsonSerializer.Serialize(new { input = texts, encoding_format = "base64" })));
        var floats = await EmbedOverHttpAsync(client, JsonSerializer.Serialize(new { input = texts, encoding_format = "float" }));
        var data = body.GetProperty("data").EnumerateArray().ToArray();
        for (int i = 0; i < texts.Length; i++)
        {
            byte[] bytes = Convert.FromBase64String(data[i].GetProperty("embedding").GetString()!);
            Assert.Equal(384 * 4, bytes.Length);
            float[] decoded = [.. Enumerable.Range(0, 384).Select(k => System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(4 * k)))];
            Assert.Equal(floats[i], decoded);
            Assert.Equal(Embedder.Value.Embed(texts[i]), decoded);
        }
    }

    [Fact]
    public async Task DimensionsAndEncodingsShortenAndEncodeTheSameVectors()
    {
        string[] texts = ["The cat sat on the mat.", "A dog barked at the mailman.", "ok"];
        var full = Embedder.Value.Embed(texts).Vectors;
        var ranges128 = Int8Ranges.Calibrate(Embedder.Value.ModelName, Matryoshka.Truncate(full, 128));
        // The projection carries query thresholds (from other texts): input_type query takes them, documents and no input_type do not.
        var queryVectors = Embedder.Value.Embed(["how do cats sit", "barking dogs", "a mat", "mail"], prompt: "query").Vectors;
        var projection64 = IterativeQuantization.WithQueryThresholds(
            IterativeQuantization.Calibrate(Embedder.Value.ModelName, Matryoshka.Truncate(full, 64), iterations: 5).Projection, Matryoshka.Truncate(queryVectors, 64));
        var (app, client) = await StartAsync(new ServeOptions { Int8Ranges = [ranges128], BinaryProjections = [projection64] });
        await using var _ = app;

        // dimensions=128: 128 floats, the leading ones of the full vector, L2-normalised again.
        var shortened = await EmbedOverHttpAsync(client, JsonSerializer.Serialize(new { input = texts, dimensions = 128 }));
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.Equal(128, shortened[i].Length);
            Assert.Equal(1.0, Math.Sqrt(shortened[i].Sum(x => (double)x * x)), 1e-5);
            double prefix = Math.Sqrt(full[i].Take(128).Sum(x => (double)x * x));
            for (int d = 0; d < 128; d++) Assert.Equal(full[i][d] / prefix, shortened[i][d], 1e-6);
        }

        var base64 = await JsonAsync(await PostAsync(client, JsonSerializer.Serialize(new { input = texts, dimensions = 128, encoding_format = "base64" })));
        var int8 = await JsonAsync(await PostAsync(client, JsonSerializer.Serialize(new { input = texts, dimensions = 128, encoding_format = "int8" })));
        var binary = await JsonAsync(await PostAsync(client, JsonSerializer.Serialize(new { input = texts, encoding_format = "binary" })));
        var projected = await JsonAsync(await PostAsync(client, JsonSerializer.Serialize(new { input = texts, dimensions = 64, encoding_format = "binary" })));
        var projectedQueries = await JsonAsync(await PostAsync(client, JsonSerializer.Serialize(new { input = texts, dimensions = 64, encoding_format = "binary", input_type = "query" })));
        var asQueries = Embedder.Value.Embed(texts, prompt: "query").Vectors;
        for (int i = 0; i < texts.Length; i++)
        {
            byte[] bytes = Convert.FromBase64String(base64.GetProperty("data")[i].GetProperty("embedding").GetString()!);
            Assert.Equal(shortened[i], Enumerable.Range(0, 128).Select(k => System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(4 * k))).ToArray());
            Assert.Equal(ranges128.Quantize(shortened[i]), int8.GetProperty("data")[i].GetProperty("embedding").EnumerateArray().Select(x => (sbyte)x.GetInt32()).ToArray());
            var bits = binary.GetProperty("data")[i].GetProperty("embedding").EnumerateArray().Select(x => (byte)x.GetInt32()).ToArray();
            Assert.Equal(48, bits.Length);
            Assert.Equal(BinaryCodes.Pack(full[i]), bits); // no projection at 384 dimensions: plain sign bits
            Assert.Equal(projection64.Pack(Matryoshka.Truncate(full[i], 64)), projected.GetProperty("data")[i].GetProperty("embedding").EnumerateArray().Select(x => (byte)x.GetInt32()).ToArray());
            Assert.Equal(projection64.Pack(Matryoshka.Truncate(asQueries[i], 64), query: true),
                projectedQueries.GetProperty("data")[i].GetProperty("embedding").EnumerateArray().Select(x => (byte)x.GetInt32()).ToArray());
        }

        Assert.True(full.Select(v => Matryoshka.Truncate(v, 64)).Any(v => !projection64.Pack(v, query: true).SequenceEqual(projection64.Pack(v))),
            "the query thresholds should change some text's bits, or the test cannot tell them apart");

        // The server holds int8 ranges for 128 dimensions only.
        var refused = await PostAsync(client, JsonSerializer.Serialize(new { input = texts, encoding_format = "int8" }));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("at 128 dimensions, not 384", (await JsonAsync(refused)).GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task PerRequestPresetCompresses()
    {
        var (app, client) = await StartAsync();
        await using var _ = app;
        var balanced = await EmbedOverHttpAsync(client, JsonSerializer.Serialize(new { input = LongText, repshift_preset = "balanced" }));
        var dense = await EmbedOverHttpAsync(client, JsonSerializer.Serialize(new { input = LongText }));
        Assert.Equal(Embedder.Value.Embed([LongText], plan: Presets.Get("balanced")).Vectors[0], balanced[0]);
        Assert.Equal(Embedder.Value.Embed(LongText), dense[0]);
        Assert.NotEqual(dense[0], balanced[0]);
    }

    [Theory]
    [InlineData("{\"input\": [\"a\", ", 400, "not valid JSON")]
    [InlineData("[\"a\"]", 400, "JSON object")]
    [InlineData("{\"model\": \"all-MiniLM-L6-v2\"}", 400, "'input' is missing")]
    [InlineData("{\"input\": []}", 400, "empty array")]
    [InlineData("{\"input\": [\"fine\", 42]}", 400, "input[1] is a number")]
    [InlineData("{\"input\": [\"fine\", null]}", 400, "input[1] is null")]
    [InlineData("{\"input\": 7}", 400, "string or an array")]
    [InlineData("{\"input\": [\"fine\", \"  \"]}", 400, "input[1] has nothing to embed")]
    [InlineData("{\"input\": \"\"}", 400, "input has nothing to embed")]
    [InlineData("{\"input\": \"a\", \"encoding_format\": \"int8\"}", 400, "encoding_format")]
    [InlineData("{\"input\": \"a\", \"dimensions\": 385}", 400, "'dimensions' must be an integer from 1 to 384")]
    [InlineData("{\"input\": \"a\", \"dimensions\": 0}", 400, "'dimensions' must be an integer from 1 to 384")]
    [InlineData("{\"input\": \"a\", \"encoding_format\": \"int4\"}", 400, "use float, base64 (little-endian float32), int8 or binary")]
    [InlineData("{\"input\": \"a\", \"repshift_preset\": \"turbo\"}", 400, "repshift_preset")]
    [InlineData("{\"input\": \"a\", \"model\": \"text-embedding-3-small\"}", 404, "runs all-MiniLM-L6-v2")]
    [InlineData("{\"input\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}", 413, "at most 4")]
    [InlineData("{\"input\": \"0123456789012345678901234567890123456789\"}", 413, "at most 32 per text")]
    public async Task BadRequestsGetJsonErrorsAndTheServerCarriesOn(string json, int status, string message)
    {
        var (app, client) = await StartAsync(new ServeOptions { MaxInputs = 4, MaxCharacters = 32 });
        await using var _ = app;
        var response = await PostAsync(client, json);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = (await JsonAsync(response)).GetProperty("error");
        Assert.Contains(message, error.GetProperty("message").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        var after = await EmbedOverHttpAsync(client, "{\"input\": \"still serving\"}");
        Assert.Equal(Embedder.Value.Embed("still serving"), after[0]);
    }

    [Fact]
    public async Task BodyOverTheLimitIs413()
    {
        var (app, client) = await StartAsync(new ServeOptions { MaxBodyBytes = 1000 });
        await using var _ = app;
        var response = await PostAsync(client, JsonSerializer.Serialize(new { input = new string('x', 2000) }));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("larger than", (await JsonAsync(response)).GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(client, "{\"input\": \"small\"}")).StatusCode);
    }

    [Fact]
    public async Task ConcurrentRequestsEachGetTheirOwnVectors()
    {
        var (app, client) = await StartAsync();
        await using var _ = app;
        var texts = Enumerable.Range(0, 32).Select(i => i % 4 == 3 ? $"{LongText} number {i}" : $"Sentence number {i} is about {(i % 2 == 0 ? "cats" : "the weather")}.").ToArray();
        var presets = texts.Select((_, i) => i % 3 == 0 ? "balanced" : "none").ToArray();
        var answers = await Task.WhenAll(texts.Select((t, i) => EmbedOverHttpAsync(client, JsonSerializer.Serialize(new { input = t, repshift_preset = presets[i] }))));
        for (int i = 0; i < texts.Length; i++)
            Assert.Equal(Embedder.Value.Embed([texts[i]], plan: Presets.Get(presets[i])).Vectors[0], Assert.Single(answers[i]));
    }

    [Fact]
    public async Task FullQueueIs503AndQueuedRequestsFinish()
    {
        using var gate = new Gate();
        var (app, client) = await StartAsync(new ServeOptions { QueueCapacity = 2 }, gate.Wrap(Embedder.Value));
        await using var _ = app;
        var first = PostAsync(client, "{\"input\": \"first\"}");
        gate.WaitUntilEntered();
        var queued = new[] { PostAsync(client, "{\"input\": \"second\"}"), PostAsync(client, "{\"input\": \"third\"}") };
        var batcher = app.Services.GetRequiredService<ModelRegistry>().Loaded[0].Batcher;
        SpinWait.SpinUntil(() => batcher.Queued == 2, TimeSpan.FromSeconds(30));
        var refused = await PostAsync(client, "{\"input\": \"fourth\"}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Contains("queue is full", (await JsonAsync(refused)).GetProperty("error").GetProperty("message").GetString());
        gate.Open();
        foreach (var (task, text) in queued.Prepend(first).Zip(new[] { "first", "second", "third" }))
        {
            var response = await task;
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(Embedder.Value.Embed(text), Floats((await JsonAsync(response)).GetProperty("data")[0].GetProperty("embedding")));
        }
    }

    [Fact]
    public async Task RequestsWithTheSamePlanShareABatch()
    {
        using var gate = new Gate();
        var (app, client) = await StartAsync(embed: gate.Wrap(Embedder.Value));
        await using var _ = app;
        var first = PostAsync(client, "{\"input\": \"held\"}");
        gate.WaitUntilEntered();
        var batcher = app.Services.GetRequiredService<ModelRegistry>().Loaded[0].Batcher;
        var serverDefault = PostAsync(client, "{\"input\": \"server default\"}");
        var dense = PostAsync(client, "{\"input\": \"explicitly dense\", \"repshift_preset\": \"none\"}");
        var balanced = PostAsync(client, JsonSerializer.Serialize(new { input = LongText, repshift_preset = "balanced" }));
        SpinWait.SpinUntil(() => batcher.Queued == 3, TimeSpan.FromSeconds(30));
        gate.Open();
        static async Task<string> BatchTexts(Task<HttpResponseMessage> response) => (await response).Headers.GetValues(EmbeddingServer.BatchHeader).Single();
        Assert.Equal("1", await BatchTexts(first));
        Assert.Equal("2", await BatchTexts(serverDefault));
        Assert.Equal("2", await BatchTexts(dense));
        Assert.Equal("1", await BatchTexts(balanced));
        Assert.Equal(Embedder.Value.Embed("explicitly dense"), (await EmbedOverHttpAsync(client, "{\"input\": \"explicitly dense\"}"))[0]);
    }

    [Fact]
    public async Task ShutdownFinishesRequestsInFlight()
    {
        using var gate = new Gate();
        var (app, client) = await StartAsync(embed: gate.Wrap(Embedder.Value));
        var running = PostAsync(client, "{\"input\": \"running\"}");
        gate.WaitUntilEntered();
        var waiting = PostAsync(client, "{\"input\": \"waiting\"}");
        var batcher = app.Services.GetRequiredService<ModelRegistry>().Loaded[0].Batcher;
        SpinWait.SpinUntil(() => batcher.Queued == 1, TimeSpan.FromSeconds(30));
        var stopping = Task.Run(async () =>
        {
            await app.StopAsync();
            await app.DisposeAsync();
        });
        gate.Open();
        Assert.Equal(HttpStatusCode.OK, (await running).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await waiting).StatusCode);
        await stopping;
    }

    /// <summary>Holds the batcher's worker inside the encoder call until opened.</summary>
    private sealed class Gate : IDisposable
    {
        private readonly ManualResetEventSlim _open = new();
        private readonly ManualResetEventSlim _entered = new();

        public MicroBatcher.EmbedFunction Wrap(TextEmbedder embedder) => (texts, plan, prompt, cancellation) =>
        {
            _entered.Set();
            _open.Wait(TimeSpan.FromSeconds(60));
            return embedder.Embed(texts, plan: plan, prompt: prompt);
        };

        public void WaitUntilEntered() => Assert.True(_entered.Wait(TimeSpan.FromSeconds(60)), "the worker took the first request");

        public void Open() => _open.Set();

        public void Dispose()
        {
            _open.Set();
            _open.Dispose();
            _entered.Dispose();
        }
    }
}
