using RepShift.Compression;
using RepShift.Extensions;
using RepShift.Kernels;
using RepShift.Loading;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.AI;
using RepShift.Cli.Serve;

namespace RepShift.Tests;

/// <summary>Prompts: tokenized as sentence-transformers tokenizes prompt + text, counted as tokens, and kept by compression.</summary>
public class PromptTests
{
    private const string QueryPrompt = "hello world , ";
    private static readonly string[] Texts = ["the quick brown fox jump over the lazy dog", "a cat sat on the mat", "it was big and red ! the dog was small and blue ."];

    private static TextEmbedder Load(TempDirectory dir, EmbedderOptions? options = null)
    {
        TinyBert.WriteFolder(dir.Path, TinyBert.Create());
        File.WriteAllText(dir.File("config_sentence_transformers.json"), $$"""{"prompts": {"query": "{{QueryPrompt}}", "classify": "is it "}, "default_prompt_name": null}""");
        return new TextEmbedder(ModelLoader.Load(dir.Path), options ?? new EmbedderOptions { MaxTokens = 32, Attention = AttentionKind.Naive });
    }

    [Fact]
    public void Prompt_ids_are_those_of_prompt_plus_text_and_the_text_is_cut_first()
    {
        using var dir = new TempDirectory();
        using var embedder = Load(dir);
        var prompt = embedder.PromptIds("query");
        Assert.Equal(3, prompt.Length);
        foreach (string text in Texts)
            Assert.Equal(embedder.Tokenizer.Encode(QueryPrompt + text, 32).Ids, embedder.Tokenizer.Encode(text, 32, prompt).Ids);
        var cut = embedder.Tokenizer.Encode(Texts[0], 7, prompt);
        Assert.True(cut.Truncated);
        Assert.Equal(embedder.Tokenizer.Encode(QueryPrompt + Texts[0], 7).Ids, cut.Ids);
        Assert.Empty(embedder.PromptIds("document")); // a retrieval role this model gives no prompt
        Assert.Empty(embedder.PromptIds(null));
    }

    [Fact]
    public void A_prompted_embedding_is_the_embedding_of_prompt_plus_text_and_its_tokens_count()
    {
        using var dir = new TempDirectory();
        using var embedder = Load(dir);
        var prompted = embedder.Embed(Texts, prompt: "query");
        var concatenated = embedder.Embed([.. Texts.Select(t => QueryPrompt + t)]);
        for (int i = 0; i < Texts.Length; i++) Assert.Equal(concatenated.Vectors[i], prompted.Vectors[i]);
        Assert.Equal(concatenated.Tokens, prompted.Tokens);
        Assert.Equal(embedder.Embed(Texts[1], "query"), prompted.Vectors[1]);
        Assert.NotEqual(embedder.Embed(Texts[1]), prompted.Vectors[1]);
        Assert.Equal("Prompt", Assert.Throws<OptionException>(() => embedder.Embed(Texts, prompt: "summary")).Property);
    }

    [Fact]
    public void Compression_keeps_every_prompt_token()
    {
        using var dir = new TempDirectory();
        using var embedder = Load(dir);
        var plan = new CompressionPlan { PruneAt = [0], Keep = 0.2, MinLength = 0 };
        var prompt = embedder.PromptIds("query");
        var ids = embedder.Tokenizer.Encode(Texts[2], 32, prompt).Ids;
        int n = ids.Length, p = prompt.Length;
        // Layer 0 sees all n rows; layer 1 sees [CLS], [SEP], the prompt and the kept share of the rest.
        var (_, withPrompt) = embedder.EmbedIds([ids], plan: plan, protectedPrefix: [p]);
        Assert.Equal(n + 2 + p + plan.KeepCount(n - 2 - p), withPrompt[0]);
        var (_, unprotected) = embedder.EmbedIds([ids], plan: plan);
        Assert.Equal(n + 2 + plan.KeepCount(n - 2), unprotected[0]);

        // Through Embed: the same count, and the prompt's rows survive to the pooling.
        var result = embedder.Embed([Texts[2]], plan: plan, prompt: "query");
        Assert.Equal(withPrompt[0], result.TokenLayers[0]);
        var batch = new RepShift.Tokens.TokenBatch(16);
        batch.Reset([ids], [p]);
        Assert.Equal([true, true, true, true, false], batch.Protected[..5].ToArray());
        Assert.True(batch.Protected[n - 1]);
    }

    [Fact]
    public async Task The_generator_applies_its_prompt_and_a_calls_input_type()
    {
        using var dir = new TempDirectory();
        using var embedder = Load(dir);
        using var plain = new RepShiftEmbeddingGenerator(embedder);
        using var query = new RepShiftEmbeddingGenerator(embedder, prompt: "query");
        var expected = embedder.Embed(Texts[0], "query");
        Assert.Equal(expected, (await query.GenerateAsync([Texts[0]]))[0].Vector.ToArray());
        var options = new EmbeddingGenerationOptions { AdditionalProperties = new() { [RepShiftEmbeddingGenerator.InputTypeProperty] = "query" } };
        var generated = await plain.GenerateAsync([Texts[0]], options);
        Assert.Equal(expected, generated[0].Vector.ToArray());
        Assert.Equal(embedder.Tokenize(Texts[0], "query").Ids.Length, generated.Usage!.InputTokenCount);
        Assert.Throws<OptionException>(() => new RepShiftEmbeddingGenerator(embedder, prompt: "summary"));
    }

    [Fact]
    public async Task The_server_maps_input_type_to_the_prompt_and_counts_its_tokens()
    {
        using var dir = new TempDirectory();
        using var embedder = Load(dir);
        var app = EmbeddingServer.Create(embedder, new ServeOptions(), b => b.WebHost.UseTestServer());
        await app.StartAsync();
        try
        {
            var client = app.GetTestClient();
            async Task<JsonElement> Post(string json)
            {
                var response = await client.PostAsync("/v1/embeddings", new StringContent(json, Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            }
            float[] Vector(JsonElement body) => [.. body.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle())];

            var query = await Post($$"""{"input": "{{Texts[0]}}", "input_type": "query"}""");
            Assert.Equal(embedder.Embed(Texts[0], "query"), Vector(query));
            Assert.Equal(embedder.Tokenize(Texts[0], "query").Ids.Length, query.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
            var document = await Post($$"""{"input": "{{Texts[0]}}", "input_type": "document"}""");
            Assert.Equal(embedder.Embed(Texts[0]), Vector(document));

            var bad = await client.PostAsync("/v1/embeddings", new StringContent("""{"input": "a cat", "input_type": "summary"}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("input_type", await bad.Content.ReadAsStringAsync());
        }
        finally { await app.StopAsync(); }
    }
}
