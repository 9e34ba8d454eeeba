using System.Diagnostics;
using System.Threading.Channels;
using RepShift.Compression;

namespace RepShift.Cli.Serve;

/// <summary>Embeddings of one request's texts, with the size of the encoder batch they ran in.</summary>
internal sealed record BatchedEmbeddings(float[][] Vectors, int[] Tokens, int BatchTexts)
{
    public long TotalTokens => Tokens.Sum(t => (long)t);
}

/// <summary>
/// Gathers concurrent requests into encoder batches: one worker takes the oldest waiting request, lets others
/// with the same compression plan join until the batch holds <see cref="ServeOptions.MaxBatchTexts"/> texts or
/// the oldest has waited <see cref="ServeOptions.MaxDelay"/>, and runs them as one call. Packed batches make a
/// text's vector independent of its batch, so callers get what a call of their own would give. The queue is
/// bounded: a request that finds it full is refused at once rather than left to time out. At shutdown
/// (<see cref="BeginShutdown"/>) it takes nothing new and runs what is queued until a deadline; what has not
/// run by then fails with <see cref="ShuttingDownException"/>.
/// </summary>
internal sealed class MicroBatcher : IAsyncDisposable
{
    /// <summary>
    /// The encoder call; the server passes <see cref="TextEmbedder.Embed(IReadOnlyList{string}, IProgress{int}?, CancellationToken, CompressionPlan?, string?)"/>.
    /// <paramref name="cancellation"/> fires at the shutdown deadline: the call may stop between encoder batches.
    /// <paramref name="prompt"/> names the model's prompt (the request's input_type), null for none.
    /// </summary>
    public delegate EmbeddingResult EmbedFunction(IReadOnlyList<string> texts, CompressionPlan plan, string? prompt, CancellationToken cancellation);

    private sealed class Job(IReadOnlyList<string> texts, string planKey, CompressionPlan plan, string? prompt, CancellationToken cancellation)
    {
        public readonly IReadOnlyList<string> Texts = texts;
        public readonly string PlanKey = planKey;
        public readonly CompressionPlan Plan = plan;
        public readonly string? Prompt = prompt;
        public readonly CancellationToken Cancellation = cancellation;
        public readonly long Enqueued = Stopwatch.GetTimestamp();
        public readonly TaskCompletionSource<BatchedEmbeddings> Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly EmbedFunction _embed;
    private readonly Action<int>? _batchRan;
    private readonly ServeOptions _options;
    private readonly Channel<Job> _queue;
    // Taken from the queue but not yet run: requests of another plan wait here for a batch of their own.
    private readonly List<Job> _pending = [];
    // A thread of its own: the encoder call blocks for the whole batch, and HTTP needs the pool's threads meanwhile.
    private readonly Thread _worker;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // A wait for the queue that timed out stays armed for the next one rather than piling up waiters.
    private Task<bool>? _wait;
    // Fires at the shutdown deadline; until BeginShutdown it never does.
    private readonly CancellationTokenSource _deadline = new();
    // Taken once: the source is disposed with the batcher, its token stays usable.
    private readonly CancellationToken _deadlineToken;
    private volatile bool _stopping;

    /// <param name="batchRan">Told the text count of each encoder batch that ran (metrics).</param>
    public MicroBatcher(EmbedFunction embed, ServeOptions options, Action<int>? batchRan = null)
    {
        options.Validate();
        _embed = embed;
        _batchRan = batchRan;
        _options = options;
        _queue = Channel.CreateBounded<Job>(new BoundedChannelOptions(options.QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _deadlineToken = _deadline.Token;
        _worker = new Thread(Run) { IsBackground = true, Name = "repshift micro-batcher" };
        _worker.Start();
    }

    /// <summary>Requests waiting in the queue (not counting those the worker holds).</summary>
    public int Queued => _queue.Reader.Count;

    /// <summary>True once <see cref="BeginShutdown"/> was called: <see cref="TryEmbed"/> takes nothing more.</summary>
    public bool Stopping => _stopping;

    /// <summary>
    /// Stops taking requests; those queued still run until <paramref name="timeout"/> has passed, then every request
    /// not yet answered fails with <see cref="ShuttingDownException"/> (a running encoder call stops at its next batch
    /// boundary, its requests already answered).
    /// </summary>
    public void BeginShutdown(TimeSpan timeout)
    {
        _stopping = true;
        _queue.Writer.TryComplete();
        try
        {
            _deadline.CancelAfter(timeout);
        }
        catch (ObjectDisposedException)
        {
            // The worker has already finished everything.
        }
    }

    /// <summary>
    /// Queues <paramref name="texts"/> under <paramref name="plan"/> (<paramref name="planKey"/> names it: requests
    /// batch together only with the same key and the same <paramref name="prompt"/>). Null when the queue is full.
    /// </summary>
    public Task<BatchedEmbeddings>? TryEmbed(IReadOnlyList<string> texts, string planKey, CompressionPlan plan, CancellationToken cancellation = default, string? prompt = null)
    {
        if (_stopping) return null;
        var job = new Job(texts, planKey, plan, prompt, cancellation);
        if (!_queue.Writer.TryWrite(job)) return null;
        // At the deadline the job fails at once, even while the worker is still inside its encoder call, so the
        // answer goes out on time; whatever the worker sets later is ignored.
        var deadline = _deadlineToken.Register(static j => ((Job)j!).Done.TrySetException(new ShuttingDownException()), job);
        job.Done.Task.ContinueWith(static (_, r) => ((CancellationTokenRegistration)r!).Dispose(), deadline, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return job.Done.Task;
    }

    /// <summary>Stops taking requests and finishes those already queued (within the deadline, if shutdown began).</summary>
    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        _queue.Writer.TryComplete();
        await _stopped.Task.ConfigureAwait(false);
        _deadline.Dispose();
    }

    private void Run()
    {
        try
        {
            var reader = _queue.Reader;
            while (_pending.Count > 0 || WaitToRead(Timeout.InfiniteTimeSpan))
            {
                Drain(reader);
                if (_deadline.IsCancellationRequested)
                {
                    RefuseAll(reader);
                    continue;
                }
                if (_pending.Count == 0) continue;
                if (_options.Batching) WaitForCompanions(reader);
                Run(TakeBatch());
            }
        }
        catch (Exception e)
        {
            _stopped.TrySetException(e);
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    /// <summary>Past the shutdown deadline: everything still waiting fails (the queue is complete, so this ends the loop).</summary>
    private void RefuseAll(ChannelReader<Job> reader)
    {
        do
        {
            foreach (var job in _pending) job.Done.TrySetException(new ShuttingDownException());
            _pending.Clear();
            Drain(reader);
        }
        while (_pending.Count > 0);
    }

    /// <summary>True when the queue may have requests; false when <paramref name="timeout"/> passed or the queue was completed.</summary>
    private bool WaitToRead(TimeSpan timeout)
    {
        _wait ??= _queue.Reader.WaitToReadAsync().AsTask();
        if (!_wait.Wait(timeout)) return false;
        bool more = _wait.Result;
        _wait = null;
        return more;
    }

    /// <summary>Moves queued requests into <see cref="_pending"/>, answering those whose callers have gone.</summary>
    private void Drain(ChannelReader<Job> reader)
    {
        while (_pending.Count < _options.QueueCapacity && reader.TryRead(out var job))
        {
            if (job.Cancellation.IsCancellationRequested) job.Done.TrySetCanceled(job.Cancellation);
            else _pending.Add(job);
        }
    }

    /// <summary>
    /// Waits until the oldest request's batch is full or it has waited <see cref="ServeOptions.MaxDelay"/> since it
    /// arrived: under load the worker was busy meanwhile and does not wait at all.
    /// </summary>
    private void WaitForCompanions(ChannelReader<Job> reader)
    {
        long deadline = _pending[0].Enqueued + (long)(_options.MaxDelay.TotalSeconds * Stopwatch.Frequency);
        while (HeadBatchTexts() < _options.MaxBatchTexts)
        {
            long left = deadline - Stopwatch.GetTimestamp();
            // Rounded up to whole milliseconds, the wait's resolution, so it does not spin.
            if (left <= 0 || !WaitToRead(TimeSpan.FromMilliseconds(Math.Ceiling(left * 1000.0 / Stopwatch.Frequency)))) return;
            Drain(reader);
        }
    }

    private int HeadBatchTexts()
    {
        string key = _pending[0].PlanKey;
        int texts = 0;
        foreach (var job in _pending)
            if (job.PlanKey == key) texts += job.Texts.Count;
        return texts;
    }

    /// <summary>The oldest request and, without batching none, later ones with its plan while they fit, in arrival order.</summary>
    private List<Job> TakeBatch()
    {
        var head = _pending[0];
        var batch = new List<Job> { head };
        int texts = head.Texts.Count;
        _pending.RemoveAt(0);
        if (!_options.Batching) return batch;
        for (int i = 0; i < _pending.Count && texts < _options.MaxBatchTexts;)
        {
            var job = _pending[i];
            if (job.PlanKey == head.PlanKey && job.Prompt == head.Prompt && texts + job.Texts.Count <= _options.MaxBatchTexts)
            {
                batch.Add(job);
                texts += job.Texts.Count;
                _pending.RemoveAt(i);
            }
            else i++;
        }
        return batch;
    }

    private void Run(List<Job> batch)
    {
        batch.RemoveAll(job => job.Cancellation.IsCancellationRequested && job.Done.TrySetCanceled(job.Cancellation));
        if (batch.Count == 0) return;
        var texts = new List<string>();
        foreach (var job in batch) texts.AddRange(job.Texts);
        EmbeddingResult result;
        try
        {
            _deadlineToken.ThrowIfCancellationRequested();
            result = _embed(texts, batch[0].Plan, batch[0].Prompt, _deadlineToken);
        }
        catch (OperationCanceledException) when (_deadline.IsCancellationRequested)
        {
            foreach (var job in batch) job.Done.TrySetException(new ShuttingDownException());
            return;
        }
        catch (RepShift.Cluster.Orleans.ClusterUnavailableException e)
        {
            // The cluster did not answer: every request of the batch would wait as long again alone.
            foreach (var job in batch) job.Done.TrySetException(e);
            return;
        }
        catch (Exception e)
        {
            // One bad request must not fail the others it was batched with: retry each alone.
            if (batch.Count > 1)
                foreach (var job in batch) Run([job]);
            else batch[0].Done.TrySetException(e);
            return;
        }
        _batchRan?.Invoke(texts.Count);
        int start = 0;
        foreach (var job in batch)
        {
            int n = job.Texts.Count;
            job.Done.TrySetResult(new BatchedEmbeddings(result.Vectors[start..(start + n)], result.Tokens[start..(start + n)], texts.Count));
            start += n;
        }
    }
}

/// <summary>A request that was queued but not run before the shutdown deadline.</summary>
internal sealed class ShuttingDownException() : Exception("the server is shutting down and did not get to this request before its deadline");
