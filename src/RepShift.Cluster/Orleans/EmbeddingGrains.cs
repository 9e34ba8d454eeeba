using Orleans.Concurrency;
using RepShift.Cluster.Jobs;

namespace RepShift.Cluster.Orleans;

/// <summary>A shard to embed: the job's manifest (JSON, as the coordinator planned it), which shard, and where to write.</summary>
[GenerateSerializer]
public sealed class ShardWork
{
    [Id(0)] public string Manifest { get; set; } = "";
    [Id(1)] public int Shard { get; set; }
    [Id(2)] public string Folder { get; set; } = "";
}

/// <summary>What a node did with a shard: its totals, or why it refused (Error set, nothing written).</summary>
[GenerateSerializer]
public sealed class ShardOutcome
{
    [Id(0)] public string Node { get; set; } = "";
    [Id(1)] public long Texts { get; set; }
    [Id(2)] public long Tokens { get; set; }
    [Id(3)] public string? Error { get; set; }

    /// <summary>The node's own failure on this shard (type and message), for the coordinator to count and report:
    /// the exception itself may not cross the wire (Orleans has no codec for RepShiftException).</summary>
    [Id(4)] public string? Failure { get; set; }
}

/// <summary>Embeds shards on whichever node receives the call, with that node's one engine.</summary>
public interface IEmbeddingWorkerGrain : IGrainWithIntegerKey
{
    Task<ShardOutcome> EmbedShard(ShardWork work);
}

/// <summary>
/// A stateless worker placed on the node that receives the call, holding no state of its own — a killed node loses
/// nothing but the shards in flight, which the coordinator hands out again. Every lease is a new grain key, hence
/// its own activation, so the node's engine takes one call at a time (<see cref="NodeEngine.RunAsync{T}"/>:
/// the engine already uses all the node's threads, so a second shard would only compete for them).
/// </summary>
[StatelessWorker(1)]
public sealed class EmbeddingWorkerGrain(NodeEngine node) : Grain, IEmbeddingWorkerGrain
{
    public async Task<ShardOutcome> EmbedShard(ShardWork work)
    {
        var job = JobManifest.FromJson(work.Manifest);
        if (node.Signature.Difference(job.Engine) is { } why)
            return new ShardOutcome { Node = node.Name, Error = $"node {node.Name} refuses the job: its engine differs ({why}); start every node with the job's model and plan" };
        var shard = job.Shards[work.Shard];
        try
        {
            var totals = await node.RunAsync(() => ShardEmbedder.Run(node.Embedder, job, shard, work.Folder));
            return new ShardOutcome { Node = node.Name, Texts = totals.Texts, Tokens = totals.Tokens };
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new ShardOutcome { Node = node.Name, Failure = $"{e.GetType().Name}: {e.Message}" };
        }
    }
}
