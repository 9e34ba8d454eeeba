using System.Text.Json;
using RepShift.Compression;

namespace RepShift.Cluster.Orleans;

/// <summary>
/// The encoder call of a front end (<c>serve --cluster</c>): a batch goes to the cluster's <see cref="TextEmbeddingGrain"/>s
/// instead of a local engine. A batch is split into parts of at most <see cref="PartTexts"/> texts sent at once, each
/// under a new grain key so the parts spread over the gateways, hence over the nodes (an embedding does not depend on
/// its batch, so the vectors are those of one call). A part whose node fails (killed, unreachable) is sent again under
/// another key until <see cref="Timeout"/>; an attempt that has not answered within <see cref="AttemptTimeout"/> counts
/// as failed (a call to a node killed mid-call would otherwise wait for Orleans' 30 s response timeout); then the batch fails with <see cref="ClusterUnavailableException"/>.
/// </summary>
public sealed class ClusterEmbedder(IGrainFactory grains, EngineSignature engine, TimeSpan timeout)
{
    /// <summary>Texts per grain call.</summary>
    public const int PartTexts = 16;

    /// <summary>How long one grain call may take before the part is sent to another node (16 texts take milliseconds to a second).</summary>
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(5);

    private readonly string _engine = JsonSerializer.Serialize(engine);
    private long _key;

    /// <summary>How long a batch may take, retries included, before it is answered as unavailable.</summary>
    public TimeSpan Timeout { get; } = timeout;

    /// <summary>Embeds <paramref name="texts"/> on the cluster; blocks (the front end's batcher has a thread of its own).</summary>
    public EmbeddingResult Embed(IReadOnlyList<string> texts, CompressionPlan plan, string? prompt, CancellationToken cancellation) =>
        EmbedAsync(texts, plan, prompt, cancellation).GetAwaiter().GetResult();

    public async Task<EmbeddingResult> EmbedAsync(IReadOnlyList<string> texts, CompressionPlan plan, string? prompt, CancellationToken cancellation)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        deadline.CancelAfter(Timeout);
        string planJson = plan.ToJson();
        var parts = new List<Task<TextsOutcome>>();
        for (int start = 0; start < texts.Count; start += PartTexts)
        {
            var work = new TextsWork { Engine = _engine, Texts = [.. texts.Skip(start).Take(PartTexts)], Plan = planJson, Prompt = prompt };
            parts.Add(SendAsync(work, deadline.Token, cancellation));
        }
        var outcomes = await Task.WhenAll(parts);
        return new EmbeddingResult([.. outcomes.SelectMany(o => o.Vectors)], [.. outcomes.SelectMany(o => o.Tokens)],
            [.. outcomes.SelectMany(o => o.TokenLayers)], outcomes.Sum(o => o.Truncated));
    }

    private async Task<TextsOutcome> SendAsync(TextsWork work, CancellationToken deadline, CancellationToken cancellation)
    {
        var wait = TimeSpan.FromMilliseconds(100);
        Exception? last = null;
        while (true)
        {
            try
            {
                var grain = grains.GetGrain<ITextEmbeddingGrain>(Interlocked.Increment(ref _key));
                var outcome = await grain.Embed(work).WaitAsync(AttemptTimeout, deadline);
                if (outcome.Error is { } refused) throw new ClusterUnavailableException(refused, "engine_mismatch");
                return outcome;
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                throw;
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                throw Unavailable(last);
            }
            catch (Exception e) when (e is not ClusterUnavailableException)
            {
                // The node died or no gateway answers: another key reaches another gateway once the client has dropped the dead one.
                last = e;
            }
            try
            {
                await Task.Delay(wait, deadline);
            }
            catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
            {
                throw Unavailable(last);
            }
            wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
        }
    }

    private ClusterUnavailableException Unavailable(Exception? last) => new(
        $"no embedding node answered within {Timeout.TotalSeconds:0.#} s{(last is null ? "" : $" (last error: {last.GetType().Name}: {last.Message})")}; "
        + "start `repshift node` with this server's --cluster, model and plan", "cluster_unavailable");
}

/// <summary>The cluster could not embed a batch: no node answered in time, or the nodes run another engine.</summary>
public sealed class ClusterUnavailableException(string message, string code) : Exception(message)
{
    /// <summary>The OpenAI-shaped error's code: cluster_unavailable or engine_mismatch.</summary>
    public string Code { get; } = code;
}
