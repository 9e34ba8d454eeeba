using System.CommandLine;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using RepShift.Cli.Benchmarks;
using RepShift.Cli.Commands;
using RepShift.Cli.Serve;
using RepShift.Kernels;
using RepShift.Loading;

namespace RepShift.Tests;

/// <summary>
/// <c>serve --model a --model b</c> (issue 17): one engine per model on one shared worker pool, a batcher each; the
/// request's <c>model</c> picks one and gets exactly the vectors <c>embed --model</c> gives for it.
/// </summary>
public class ServeMultiModelTests
{
    private static readonly string[] Texts = ["the cat sat on the mat", "a dog", "hello, cats sat.", "A man plays a guitar."];

    /// <summary>What <c>repshift embed --model <paramref name="model"/></c> writes for <see cref="Texts"/>.</summary>
    private static float[][] EmbedCommandVectors(TempDirectory dir, string model)
    {
        string input = dir.Write("texts.txt", string.Join("\n", Texts) + "\n");
        string output = dir.File($"out-{Guid.NewGuid():N}.jsonl");
        var errors = new StringWriter();
        int code = Cli.Cli.Invoke(new RootCommand { EmbedCommand.Create() }, ["embed", "--model", model, "--max-tokens", "16", "--input", input, "--output", output], errors);
        Assert.True(code == 0, errors.ToString());
        return [.. File.ReadAllLines(output).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray())];
    }

    [Fact]
    public async Task EachNamedModelGivesTheVectorsOfEmbedForThatModel()
    {
        using var dir = new TempDirectory();
        new TinyModelFiles(seed: 1).WriteFolder(dir.File("tiny-a"));
        new TinyModelFiles(seed: 2).WriteFolder(dir.File("tiny-b"));
        string[] models = [dir.File("tiny-a"), dir.File("tiny-b"), ModelLoader.DefaultModelName];
        // As serve builds them: the same options for every model, one compute context for all.
        var shared = new ComputeContext(2);
        var sources = models.Select(m => new ModelRegistry.Source(m, () => new TextEmbedder(ModelLoader.Load(m), new EmbedderOptions { MaxTokens = 16, Threads = 2 }, shared))).ToList();
        var app = EmbeddingServer.Create(sources, new ServeOptions(), b => b.WebHost.UseTestServer(), shared: shared);
        await app.StartAsync();
        await using var _ = app;
        var client = app.GetTestClient();
        var registry = app.Services.GetRequiredService<ModelRegistry>();
        Assert.True(SpinWait.SpinUntil(() => registry.State != ServerState.Loading, TimeSpan.FromSeconds(120)));
        Assert.Equal(ServerState.Ready, registry.State);

        var listed = JsonDocument.Parse(await client.GetStringAsync("/v1/models")).RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString());
        Assert.Equal(["tiny-a", "tiny-b", "all-MiniLM-L6-v2"], listed);

        var expected = models.ToDictionary(m => Path.GetFileName(m), m => EmbedCommandVectors(dir, m));
        Assert.NotEqual(expected["tiny-a"][0], expected["tiny-b"][0]);
        // Every model asked for at once, each text on its own, so the three batchers and the shared pool run together.
        var requests = expected.Keys.SelectMany(name => Texts.Select((text, i) => (Name: name, Index: i,
            Response: client.PostAsync("/v1/embeddings", new StringContent(JsonSerializer.Serialize(new { input = text, model = name == "all-MiniLM-L6-v2" ? "sentence-transformers/" + name : name }), Encoding.UTF8, "application/json"))))).ToList();
        foreach (var (name, index, response) in requests)
        {
            var answer = await response;
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            var body = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(name, body.GetProperty("model").GetString());
            Assert.Equal(expected[name][index], body.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray());
        }
    }

    [Fact]
    public async Task WithSeveralModelsARequestMustNameOneThatIsServed()
    {
        static TextEmbedder Tiny(string name) => new(new ModelBundle(name, TinyBert.Create(), RepShift.Text.BertTextTokenizer.FromVocab(new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\n", TinyBert.Vocab))))),
            new EmbedderOptions { MaxTokens = 32, Threads = 1 });
        var app = EmbeddingServer.Create([new ModelRegistry.Source("a", () => Tiny("small")), new ModelRegistry.Source("b", () => Tiny("other"))], new ServeOptions(), b => b.WebHost.UseTestServer());
        await app.StartAsync();
        await using var _ = app;
        var client = app.GetTestClient();
        var registry = app.Services.GetRequiredService<ModelRegistry>();
        Assert.True(SpinWait.SpinUntil(() => registry.State == ServerState.Ready, TimeSpan.FromSeconds(60)));
        async Task<JsonElement> Error(string json, HttpStatusCode status)
        {
            var response = await client.PostAsync("/v1/embeddings", new StringContent(json, Encoding.UTF8, "application/json"));
            Assert.Equal(status, response.StatusCode);
            return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        }
        var missing = await Error("{\"input\": \"the cat\"}", HttpStatusCode.BadRequest);
        Assert.Equal("model", missing.GetProperty("param").GetString());
        Assert.Contains("serves small, other", missing.GetProperty("message").GetString());
        var unknown = await Error("{\"input\": \"the cat\", \"model\": \"evil/small\"}", HttpStatusCode.NotFound);
        Assert.Equal("model_not_found", unknown.GetProperty("code").GetString());
        Assert.Contains("runs small, other", unknown.GetProperty("message").GetString());

        // Two models with one served name cannot be told apart: the server refuses to start serving.
        var twice = EmbeddingServer.Create([new ModelRegistry.Source("a", () => Tiny("same")), new ModelRegistry.Source("b", () => Tiny("Same"))], new ServeOptions(), b => b.WebHost.UseTestServer());
        await twice.StartAsync();
        var twiceRegistry = twice.Services.GetRequiredService<ModelRegistry>();
        Assert.True(SpinWait.SpinUntil(() => twiceRegistry.State == ServerState.Failed, TimeSpan.FromSeconds(60)));
        Assert.Contains("served name 'Same'", twiceRegistry.LoadError!.Message);
        await twice.StopAsync();
        await twice.DisposeAsync();
    }
}
