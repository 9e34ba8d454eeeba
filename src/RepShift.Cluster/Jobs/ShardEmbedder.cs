using RepShift.Cluster.Inputs;
using RepShift.Cluster.Outputs;

namespace RepShift.Cluster.Jobs;

/// <summary>Embeds one shard into its Parquet file (temporary name, then renamed): the unit of work of every kind of job.</summary>
public static class ShardEmbedder
{
    /// <summary>The shard's records; ids carry the input's path when the job has several inputs, so they stay unique.</summary>
    public static IEnumerable<InputRecord> Records(JobManifest job, Shard shard)
    {
        var input = job.Inputs[shard.Input];
        var source = InputSource.Open(input.Path, job.TextColumn);
        var records = source.Read(shard.Start, shard.Count, shard.Offset);
        return job.Inputs.Count == 1 ? records : records.Select(r => r with { Id = $"{input.Path}:{r.Id}" });
    }

    /// <summary>Embeds <paramref name="shard"/> with <paramref name="embedder"/> into <paramref name="folder"/>; returns the totals.</summary>
    public static StreamTotals Run(TextEmbedder embedder, JobManifest job, Shard shard, string folder, Action<long>? progress = null, CancellationToken cancellation = default)
    {
        using var writer = new ParquetEmbeddingWriter(Path.Combine(folder, shard.File), embedder.Dimension);
        var totals = StreamingEmbedder.Run(embedder, Records(job, shard), writer, progress, cancellation: cancellation);
        writer.Complete();
        return totals;
    }
}
