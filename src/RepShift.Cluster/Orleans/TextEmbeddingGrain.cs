using Orleans.Concurrency;
using RepShift.Compression;

namespace RepShift.Cluster.Orleans;

/// <summary>Texts a front end (<c>serve --cluster</c>) forwards: its engine's signature (JSON), the plan and prompt of the batch.</summary>
[GenerateSerializer]
public sealed class TextsWork
{
    [Id(0)] public string Engine { get; set; } = "";
    [Id(1)] public string[] Texts { get; set; } = [];
    /// <summary>The compression plan as JSON; null: dense.</summary>
    [Id(2)] public string? Plan { get; set; }
    [Id(3)] public string? Prompt { get; set; }
}

/// <summary>The vectors of a <see cref="TextsWork"/>, or why the node refused it (Error set).</summary>
[GenerateSerializer]
public sealed class TextsOutcome
{
    [Id(0)] public string Node { get; set; } = "";
    [Id(1)] public float[][] Vectors { get; set; } = [];
    [Id(2)] public int[] Tokens { get; set; } = [];
    [Id(3)] public int[] TokenLayers { get; set; } = [];
    [Id(4)] public int Truncated { get; set; }
    [Id(5)] public string? Error { get; set; }
}

/// <summary>Embeds a front end's batch on whichever node receives the call, with that node's engine.</summary>
public interface ITextEmbeddingGrain : IGrainWithIntegerKey
{
    Task<TextsOutcome> Embed(TextsWork work);
}

/// <summary>
/// A stateless worker like <see cref="EmbeddingWorkerGrain"/>, placed on the node that receives the call; parts sent
/// to one node take its engine in turn (<see cref="NodeEngine.RunAsync{T}"/>), each with all its threads. A node whose engine differs from the front end's refuses (no mixed vectors).
/// </summary>
[StatelessWorker(1)]
public sealed class TextEmbeddingGrain(NodeEngine node) : Grain, ITextEmbeddingGrain
{
    public async Task<TextsOutcome> Embed(TextsWork work)
    {
        var engine = System.Text.Json.JsonSerializer.Deserialize<EngineSignature>(work.Engine) ?? throw new RepShiftException("empty engine signature");
        if (node.Signature.Difference(engine) is { } why)
            return new TextsOutcome { Node = node.Name, Error = $"node {node.Name} refuses the front end's texts: its engine differs ({why}); start every node with the server's model and plan" };
        var plan = work.Plan is { } json ? CompressionPlan.FromJson(json, "the front end's plan") : null;
        var result = await node.RunAsync(() => node.Embedder.Embed(work.Texts, plan: plan, prompt: work.Prompt));
        return new TextsOutcome { Node = node.Name, Vectors = result.Vectors, Tokens = result.Tokens, TokenLayers = result.TokenLayers, Truncated = result.Truncated };
    }
}
