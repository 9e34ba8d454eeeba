namespace RepShift.Cluster.Jobs;

/// <summary>Records shards as done (the coordinator has already marked them so in its manifest).</summary>
public interface IShardLedger
{
    Task RecordAsync(Shard shard, string node, CancellationToken cancellation = default);
}
