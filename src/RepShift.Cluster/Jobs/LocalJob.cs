using System.Diagnostics;
using System.Text.Json.Serialization;
using RepShift.Cluster.Outputs;

namespace RepShift.Cluster.Jobs;

/// <summary>The JSON summary a job prints on stdout.</summary>
public sealed record JobSummary(
    [property: JsonPropertyName("output")] string Output,
    [property: JsonPropertyName("shards")] int Shards,
    [property: JsonPropertyName("shards_skipped")] int ShardsSkipped,
    [property: JsonPropertyName("shards_embedded")] int ShardsEmbedded,
    [property: JsonPropertyName("texts_embedded")] long TextsEmbedded,
    [property: JsonPropertyName("texts_total")] long TextsTotal,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("docs_per_s")] double DocsPerSecond);

/// <summary>
/// A bulk job in this process: plan (or resume) the manifest, embed every shard not yet done, one after another
/// (the engine already uses every thread it was given), saving the manifest after each.
/// </summary>
public static class LocalJob
{
    /// <summary>Loads the folder's manifest when it is this job's, else saves <paramref name="planned"/> there; errors when it belongs to another job.</summary>
    public static JobManifest Resume(string folder, JobManifest planned)
    {
        Directory.CreateDirectory(folder);
        if (JobManifest.TryLoad(folder) is not { } existing)
        {
            planned.Save(folder);
            return planned;
        }
        if (existing.Mismatch(planned) is { } why)
            throw new RepShiftException($"{folder} holds another job's output: {why}; choose another --output or delete {JobManifest.PathIn(folder)}");
        // Temporary files of shards a killed run was writing (this process is the folder's only writer).
        EmbeddingWriter.DeleteTemporaries(folder, JobPlanner.ShardFiles);
        // A shard marked done whose file is gone is done again.
        foreach (var s in existing.Shards.Where(s => s.Done && !File.Exists(Path.Combine(folder, s.File)))) s.Done = false;
        return existing;
    }

    /// <param name="embedder">The engine; its signature must be the manifest's.</param>
    /// <param name="job">The manifest, as <see cref="Resume"/> returned it.</param>
    /// <param name="folder">The output folder.</param>
    /// <param name="progress">Told texts done and left after every chunk.</param>
    /// <param name="shardDone">Called after each shard is recorded as done.</param>
    /// <param name="cancellation">Checked between batches; a cancelled shard leaves no file and stays to do.</param>
    public static JobSummary Run(TextEmbedder embedder, JobManifest job, string folder, ProgressLine? progress = null, Action<Shard>? shardDone = null, CancellationToken cancellation = default)
    {
        var clock = Stopwatch.StartNew();
        int skipped = job.Shards.Count(s => s.Done), embedded = 0;
        long texts = 0, remaining = job.Shards.Where(s => !s.Done).Sum(s => s.Count);
        foreach (var shard in job.Shards)
        {
            if (shard.Done) continue;
            cancellation.ThrowIfCancellationRequested();
            long before = texts;
            var totals = ShardEmbedder.Run(embedder, job, shard, folder,
                done => progress?.Report(before + done, remaining - done, $"shards {skipped + embedded}/{job.Shards.Count}"), cancellation);
            shard.Done = true;
            shard.Texts = totals.Texts;
            job.Save(folder);
            embedded++;
            texts += totals.Texts;
            remaining -= shard.Count;
            progress?.Report(texts, remaining, $"shards {skipped + embedded}/{job.Shards.Count}");
            shardDone?.Invoke(shard);
        }
        double seconds = clock.Elapsed.TotalSeconds;
        return new JobSummary(Path.GetFullPath(folder), job.Shards.Count, skipped, embedded, texts, job.Shards.Sum(s => s.Texts), seconds, texts / Math.Max(1e-9, seconds));
    }
}
