using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using CsCheck;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using RepShift.Cli.Commands;
using RepShift.Cli.Serve;
using RepShift.Loading;
using RepShift.Text;

namespace RepShift.Tests;

/// <summary>
/// Every way a request can go wrong gets an OpenAI-shaped JSON error, never a 5xx from bad input; shutdown drains
/// to a deadline; and a request fuzzer finds no exception. In-process server on a tiny random model ("tiny", 16 dimensions).
/// </summary>
public class ServerErrorTests
{
    private static readonly TextEmbedder Tiny = new(
        new ModelBundle("tiny", TinyBert.Create(), BertTextTokenizer.FromVocab(new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\n", TinyBert.Vocab))))),
        new EmbedderOptions { MaxTokens = 32 });

    private static async Task<(WebApplication App, HttpClient Client)> StartAsync(ServeOptions? options = null, MicroBatcher.EmbedFunction? embed = null)
    {
        var app = EmbeddingServer.Create(Tiny, options ?? new ServeOptions(), b => b.WebHost.UseTestServer(), embed);
        await app.StartAsync();
        return (app, app.GetTestClient());
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient client, byte[] body, string? contentType = "application/json")
    {
        var content = new ByteArrayContent(body);
        if (contentType is not null) content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return client.PostAsync("/v1/embeddings", content);
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient client, string json) => PostAsync(client, Encoding.UTF8.GetBytes(json));

    /// <summary>The error object of a JSON error answer, checked for OpenAI's shape.</summary>
    private static async Task<JsonElement> ErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal(JsonValueKind.String, error.GetProperty("message").ValueKind);
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        Assert.True(error.TryGetProperty("param", out _) && error.TryGetProperty("code", out _));
        return error;
    }

    [Theory]
    [InlineData("{\"input\": \"\\ud800\"}", "lone surrogate", "input")]
    [InlineData("{\"input\": [\"cat\", \"a \\udc00 b\"]}", "input[1] holds a lone surrogate", "input")]
    [InlineData("{\"input\": \"cat\", \"model\": \"\\ud800\"}", "'model' holds a lone surrogate", "model")]
    [InlineData("{\"input\": \"cat\", \"dimensions\": \"16\"}", "'dimensions' is a string", "dimensions")]
    [InlineData("{\"input\": \"cat\", \"dimensions\": 16.5}", "'dimensions' must be an integer from 1 to 16", "dimensions")]
    [InlineData("{\"input\": 384}", "'input' is a number", "input")]
    [InlineData("{\"input\": {\"text\": \"cat\"}}", "'input' is an object", "input")]
    [InlineData("{\"input\": [1, 2]}", "input[0] is a number", "input")]
    [InlineData("{\"input\": [\"cat\", [\"dog\"]]}", "input[1] is an array", "input")]
    [InlineData("{\"input\": \"cat\", \"model\": 7}", "'model' is a number", "model")]
    [InlineData("{\"input\": \"cat\", \"encoding_format\": true}", "'encoding_format' is a boolean", "encoding_format")]
    [InlineData("{\"input\": \"cat\", \"repshift_preset\": [\"fast\"]}", "'repshift_preset' is an array", "repshift_preset")]
    [InlineData("{\"input\": \"cat\", \"input\": \"dog\"}", "Duplicate property", null)]
    [InlineData("{\"input\": \"\\u0001\\u0007\\u001b\"}", "input has nothing to embed", "input")]
    [InlineData("{\"input\": [\"cat\", \"dog\", \"\\u200b\\u0000\"]}", "input[2] has nothing to embed", "input")]
    [InlineData("{\"input\": [\"cat\", \"\"]}", "input[1] has nothing to embed", "input")]
    public async Task MalformedAndMistypedFieldsAre400NamingTheField(string json, string message, string? param)
    {
        var (app, client) = await StartAsync();
        await using var _ = app;
        var error = await ErrorAsync(await PostAsync(client, json), HttpStatusCode.BadRequest);
        Assert.Contains(message, error.GetProperty("message").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(client, "{\"input\": \"the cat sat\"}")).StatusCode);
    }

    [Theory]
    [InlineData(new byte[] { 0x7b, 0x22, 0x69, 0x6e, 0x70, 0x75, 0x74, 0x22, 0x3a, 0x22, 0x61, 0xff, 0x22, 0x7d }, "byte 11")]
    [InlineData(new byte[] { 0x7b, 0x22, 0x69, 0x6e, 0x70, 0x75, 0x74, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d }, "byte 10")]
    [InlineData(new byte[] { 0x7b, 0x22, 0x69, 0x6e, 0x70, 0x75, 0x74, 0x22, 0x3a, 0x22, 0xc3 }, "byte 10")]
    public async Task InvalidUtf8Is400WithItsOffset(byte[] body, string offset)
    {
        var (app, client) = await StartAsync();
        await using var _ = app;
        var error = await ErrorAsync(await PostAsync(client, body), HttpStatusCode.BadRequest);
        Assert.Contains("not valid UTF-8", error.GetProperty("message").GetString());
        Assert.Contains(offset, error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task DeepNestingIs400()
    {
        var (app, client) = await StartAsync();
        await using var _ = app;
        var error = await ErrorAsync(await PostAsync(client, "{\"input\": " + new string('[', 200) + new string(']', 200) + "}"), HttpStatusCode.BadRequest);
        Assert.Contains("not valid JSON", error.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("tiny", HttpStatusCode.OK)]
    [InlineData("TINY", HttpStatusCode.OK)]
    [InlineData("sentence-transformers/tiny", HttpStatusCode.OK)]
    [InlineData("evil/tiny", HttpStatusCode.NotFound)]
    [InlineData("sentence-transformers/evil/tiny", HttpStatusCode.NotFound)]
    [InlineData("/tiny", HttpStatusCode.NotFound)]
    [InlineData("text-embedding-3-small", HttpStatusCode.NotFound)]
    public async Task OnlyTheServedNameOrTheSentenceTransformersPrefixIsAccepted(string model, HttpStatusCode status)
    {
        var (app, client) = await StartAsync();
        await using var _ = app;
        var response = await PostAsync(client, JsonSerializer.Serialize(new { input = "the cat", model }));
        if (status == HttpStatusCode.OK) Assert.Equal(status, response.StatusCode);
        else Assert.Equal("model_not_found", (await ErrorAsync(response, status)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task NullOptionalFieldsCountAsLeftOut()
    {
        var (app, client) = await StartAsync();
        await using var _ = app;
        var response = await PostAsync(client, "{\"input\": \"the cat\", \"model\": null, \"dimensions\": null, \"encoding_format\": null, \"repshift_preset\": null, \"user\": \"u1\"}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var vector = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("data")[0].GetProperty("embedding");
        Assert.Equal(Tiny.Embed("the cat"), vector.EnumerateArray().Select(e => e.GetSingle()));
    }

    [Fact]
    public async Task UnknownPathIs404AndWrongMethodIs405WithAllow()
    {
        var (app, client) = await StartAsync();
        await using var _ = app;
        var missing = await ErrorAsync(await client.GetAsync("/v1/nothing"), HttpStatusCode.NotFound);
        Assert.Contains("GET /v1/nothing", missing.GetProperty("message").GetString());
        Assert.Equal("not_found", missing.GetProperty("code").GetString());

        var get = await client.GetAsync("/v1/embeddings");
        var wrong = await ErrorAsync(get, HttpStatusCode.MethodNotAllowed);
        Assert.Equal(["POST"], get.Content.Headers.Allow);
        Assert.Contains("use POST", wrong.GetProperty("message").GetString());
        var delete = await client.DeleteAsync("/health");
        await ErrorAsync(delete, HttpStatusCode.MethodNotAllowed);
        Assert.Equal(["GET", "HEAD"], delete.Content.Headers.Allow);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/health"))).StatusCode);
    }

    [Theory]
    [InlineData(null, "missing")]
    [InlineData("text/plain", "'text/plain'")]
    [InlineData("application/x-www-form-urlencoded", "application/json")]
    [InlineData("application/json; charset=utf-16", "charset 'utf-16'")]
    public async Task BodiesNotDeclaredJsonInUtf8Are415(string? contentType, string message)
    {
        var (app, client) = await StartAsync();
        await using var _ = app;
        var error = await ErrorAsync(await PostAsync(client, Encoding.UTF8.GetBytes("{\"input\": \"cat\"}"), contentType), HttpStatusCode.UnsupportedMediaType);
        Assert.Contains(message, error.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(client, Encoding.UTF8.GetBytes("{\"input\": \"cat\"}"), "application/json; charset=UTF-8")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(client, Encoding.UTF8.GetBytes("{\"input\": \"cat\"}"), "application/vnd.example+json")).StatusCode);
    }

    [Fact]
    public async Task BodyOverTheLimitIs413()
    {
        var (app, client) = await StartAsync(new ServeOptions { MaxBodyBytes = 100 });
        await using var _ = app;
        var error = await ErrorAsync(await PostAsync(client, JsonSerializer.Serialize(new { input = new string('a', 200) })), HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("larger than", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task TooManyOrTooLargeHeadersAre431AndALongTargetIs414()
    {
        var (app, client) = await StartAsync();
        await using var _ = app;
        var many = new HttpRequestMessage(HttpMethod.Get, "/health");
        for (int i = 0; i <= ErrorPages.MaxHeaderCount; i++) many.Headers.TryAddWithoutValidation($"X-H{i}", "v");
        Assert.Contains("headers", (await ErrorAsync(await client.SendAsync(many), HttpStatusCode.RequestHeaderFieldsTooLarge)).GetProperty("message").GetString());

        var large = new HttpRequestMessage(HttpMethod.Get, "/health");
        large.Headers.TryAddWithoutValidation("X-Large", new string('h', ErrorPages.MaxHeaderBytes));
        Assert.Contains("bytes", (await ErrorAsync(await client.SendAsync(large), HttpStatusCode.RequestHeaderFieldsTooLarge)).GetProperty("message").GetString());

        await ErrorAsync(await client.GetAsync("/health?q=" + new string('q', ErrorPages.MaxTargetLength)), HttpStatusCode.RequestUriTooLong);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task ABodyThatStallsIs408()
    {
        var (app, client) = await StartAsync(new ServeOptions { BodyTimeout = TimeSpan.FromMilliseconds(300) });
        await using var _ = app;
        using var stall = new StallingStream(Encoding.UTF8.GetBytes("{\"input\": \"the c"));
        var content = new StreamContent(stall);
        content.Headers.ContentType = new("application/json");
        var error = await ErrorAsync(await client.PostAsync("/v1/embeddings", content), HttpStatusCode.RequestTimeout);
        Assert.Contains("did not arrive within 0.3 s", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task AFailureInTheServerIs500WithAJsonBody()
    {
        var (app, client) = await StartAsync(embed: (_, _, _, _) => throw new InvalidOperationException("a bug"));
        await using var _ = app;
        var error = await ErrorAsync(await PostAsync(client, "{\"input\": \"the cat\"}"), HttpStatusCode.InternalServerError);
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.DoesNotContain("a bug", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task ShutdownAnswersWhatIsLeftAtTheDeadline503()
    {
        using var release = new ManualResetEventSlim();
        using var entered = new ManualResetEventSlim();
        var (app, client) = await StartAsync(new ServeOptions { ShutdownTimeout = TimeSpan.FromMilliseconds(300) }, (texts, plan, _, _) =>
        {
            entered.Set();
            release.Wait(TimeSpan.FromSeconds(60));
            return Tiny.Embed(texts, plan: plan);
        });
        var running = PostAsync(client, "{\"input\": \"the cat\"}");
        Assert.True(entered.Wait(TimeSpan.FromSeconds(60)));
        var queued = PostAsync(client, "{\"input\": \"the dog\"}");
        var batcher = app.Services.GetRequiredService<ModelRegistry>().Loaded[0].Batcher;
        Assert.True(SpinWait.SpinUntil(() => batcher.Queued == 1, TimeSpan.FromSeconds(30)));
        var stopping = app.StopAsync();
        // The worker is still held: both answers come from the deadline, not from the encoder.
        foreach (var response in new[] { await running, await queued })
        {
            var error = await ErrorAsync(response, HttpStatusCode.ServiceUnavailable);
            Assert.Equal("shutting_down", error.GetProperty("code").GetString());
            Assert.Equal("1", response.Headers.RetryAfter?.ToString());
        }
        release.Set();
        await stopping;
        await app.DisposeAsync();
    }

    [Fact]
    public async Task AfterShutdownBeginsTheBatcherTakesNothingAndFailsTheRestAtTheDeadline()
    {
        using var release = new ManualResetEventSlim();
        var batcher = new MicroBatcher((texts, plan, _, cancellation) =>
        {
            release.Wait(cancellation);
            return Tiny.Embed(texts, plan: plan);
        }, new ServeOptions());
        var held = batcher.TryEmbed(["the cat"], "", Compression.CompressionPlan.None)!;
        var queued = batcher.TryEmbed(["the dog"], "", Compression.CompressionPlan.None)!;
        batcher.BeginShutdown(TimeSpan.FromMilliseconds(200));
        Assert.True(batcher.Stopping);
        Assert.Null(batcher.TryEmbed(["too late"], "", Compression.CompressionPlan.None));
        await Assert.ThrowsAsync<ShuttingDownException>(() => held);
        await Assert.ThrowsAsync<ShuttingDownException>(() => queued);
        await batcher.DisposeAsync();
    }

    [Fact]
    public void ServeOnAPortInUseIsAUserErrorNotACrash()
    {
        using var dir = new TempDirectory();
        TinyBert.WriteFolder(dir.Path, TinyBert.Create());
        var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            int port = ((IPEndPoint)taken.LocalEndpoint).Port;
            var root = new RootCommand { ServeCommand.Create() };
            Assert.Equal(2, Cli.Cli.Invoke(root, ["serve", "--port", $"{port}", "--model", dir.Path, "--max-tokens", "32"]));
        }
        finally
        {
            taken.Stop();
        }
    }

    [Fact]
    public async Task FuzzedRequestsNeverGetA5xxAndAlwaysAJsonBody()
    {
        var (app, client) = await StartAsync();
        await using var _ = app;
        // CsCheck prints the seed and the shrunk request of a failure; SampleAsync(seed: ...) replays it.
        await RequestFuzzer.Requests(Tiny.ModelName, Tiny.Dimension).SampleAsync(
            async request => RequestFuzzer.Check(request, await RequestFuzzer.SendAsync(client, request)),
            iter: 2000, print: request => request.ToString());
    }

    /// <summary>Gives its bytes, then nothing until the reader gives up (at most 30 s, so a broken test cannot hang).</summary>
    private sealed class StallingStream(byte[] head) : Stream
    {
        private int _position;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position < head.Length)
            {
                int n = Math.Min(buffer.Length, head.Length - _position);
                head.AsMemory(_position, n).CopyTo(buffer);
                _position += n;
                return n;
            }
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(30), cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }
            return 0;
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
