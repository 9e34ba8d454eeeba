using System.Diagnostics;
using Orleans.Runtime;
using RepShift.Cluster.Jobs;

namespace RepShift.Cluster.Orleans;

/// <summary>
/// The coordinator of a clustered job, in the process that runs <c>job embed --cluster</c>: it leases the shards not
/// yet done to the cluster's worker grains, a few in flight per node. A lease is one call with a deadline: when
/// the node dies or the deadline passes the shard goes back to the queue (a late answer is ignored; its file, if
/// any, holds the same vectors). Finished shards are recorded in the manifest as they return, so a killed
/// coordinator resumes like a local job.
/// </summary>
public static class ClusterJob
{
    /// <summary>
    /// How many times one shard may fail with a node's own error before the job stops. A dead node or a timeout
    /// (Orleans' transport errors, <see cref="TimeoutException"/>) is the cluster's fault and is retried without limit;
    /// an input a node cannot read or a folder it cannot write fails the same way on every lease.
    /// </summary>
    public const int MaxShardFailures = 3;

    /// <param name="grains">The cluster client's grain factory.</param>
    /// <param name="job">The manifest, as <see cref="LocalJob.Resume"/> returned it.</param>
    /// <param name="folder">The output folder, which every node must see at the same path.</param>
    /// <param name="inFlight">Shards leased at once (a few per node keep every node busy between shards).</param>
    /// <param name="leaseTimeout">How long a shard may take before it is leased again.</param>
    /// <param name="progress">Progress on stderr.</param>
    /// <param name="shardDone">Called with each recorded shard and the node that embedded it.</param>
    /// <param name="cancellation">Stops handing out shards.</param>
    /// <param name="ledger">Where finished shards are recorded: the folder's manifest.json when null, or PostgreSQL.</param>
    public static async Task<JobSummary> RunAsync(IGrainFactory grains, JobManifest job, string folder, int inFlight, TimeSpan leaseTimeout,
        ProgressLine? progress = null, Action<Shard, string>? shardDone = null, CancellationToken cancellation = default, IShardLedger? ledger = null)
    {
        ledger ??= new FileLedger(job, folder);
        var clock = Stopwatch.StartNew();
        string manifest = job.ToJson();
        var queue = new Queue<Shard>(job.Shards.Where(s => !s.Done));
        int skipped = job.Shards.Count - queue.Count, embedded = 0;
        long texts = 0, remaining = queue.Sum(s => s.Count);
        var running = new Dictionary<Task<ShardOutcome>, Shard>();
        int lease = 0;
        var failures = new Dictionary<int, int>();
        while (queue.Count > 0 || running.Count > 0)
        {
            while (queue.Count > 0 && running.Count < inFlight)
            {
                cancellation.ThrowIfCancellationRequested();
                var shard = queue.Dequeue();
                // A new key per lease spreads calls over the gateways, hence over the nodes.
                var worker = grains.GetGrain<IEmbeddingWorkerGrain>(lease++);
                running.Add(worker.EmbedShard(new ShardWork { Manifest = manifest, Shard = shard.Id, Folder = folder }).WaitAsync(leaseTimeout, cancellation), shard);
            }
            var finished = await Task.WhenAny(running.Keys);
            var done = running[finished];
            running.Remove(finished);
            ShardOutcome outcome;
            try { outcome = await finished; }
            catch (Exception e) when (e is not OperationCanceledException || !cancellation.IsCancellationRequested)
            {
                if (e is TimeoutException or OrleansException or OperationCanceledException)
                {
                    // The node died or the call passed its deadline: the cluster's fault, not the shard's; leased again.
                    progress?.Report(texts, remaining, $"shard {done.Id} returned to the queue ({e.GetType().Name})", force: true);
                    queue.Enqueue(done);
                    continue;
                }
                outcome = new ShardOutcome { Failure = $"{e.GetType().Name}: {e.Message}" };
            }
            if (outcome.Failure is { } failure)
            {
                // The shard's own error: leased again, unless it repeats (an input no node can read fails on every lease).
                if ((failures[done.Id] = failures.GetValueOrDefault(done.Id) + 1) >= MaxShardFailures)
                    throw new RepShiftException($"shard {done.Id} failed {MaxShardFailures} times on the nodes (last: {failure}); "
                        + "the job stops. Shards already done are recorded: fix the cause and run the job again to resume");
                progress?.Report(texts, remaining, $"shard {done.Id} returned to the queue ({failure})", force: true);
                queue.Enqueue(done);
                continue;
            }
            if (outcome.Error != null) throw new RepShiftException(outcome.Error);
            done.Done = true;
            done.Texts = outcome.Texts;
            await ledger.RecordAsync(done, outcome.Node, cancellation);
            embedded++;
            texts += outcome.Texts;
            remaining -= done.Count;
            shardDone?.Invoke(done, outcome.Node);
            progress?.Report(texts, remaining, $"shards {skipped + embedded}/{job.Shards.Count}");
        }
        double seconds = clock.Elapsed.TotalSeconds;
        return new JobSummary(Path.GetFullPath(folder), job.Shards.Count, skipped, embedded, texts, job.Shards.Sum(s => s.Texts), seconds, texts / Math.Max(1e-9, seconds));
    }

    /// <summary>The local manifest: the whole file rewritten (atomically) after each shard.</summary>
    private sealed class FileLedger(JobManifest job, string folder) : IShardLedger
    {
        public Task RecordAsync(Shard shard, string node, CancellationToken cancellation = default)
        {
            job.Save(folder);
            return Task.CompletedTask;
        }
    }
}
