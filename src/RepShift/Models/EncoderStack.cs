using System.Collections.Concurrent;
using System.Diagnostics;
using RepShift.Compression;
using RepShift.Kernels;
using RepShift.Tokens;

namespace RepShift.Models;

/// <summary>One transformer block (post-LN BERT or pre-LN ViT) run in place on a packed batch.</summary>
internal interface IEncoderLayer
{
    /// <summary>
    /// Runs the layer on <paramref name="batch"/> with the key bias in ws.KeyBias when <paramref name="keyBias"/>;
    /// with a <paramref name="metric"/>, writes one score per row into batch.Score.
    /// </summary>
    void Forward(ComputeContext compute, TokenBatch batch, EncoderWorkspace ws, AttentionKind attention, bool keyBias, ScoreMetric? metric, int layerIndex, int seed);
}

/// <summary>
/// The skeleton the text and the vision encoder share: the layer stack, its compute context and attention
/// kernel, the workspaces (one per concurrent call), and the layer loop with its compression hooks — after
/// the layers a plan names, the reduction and the key bias it leaves for the next attention. The encoders
/// only embed their inputs before <see cref="Run"/> and read the batch after it.
/// </summary>
internal sealed class EncoderStack(IEncoderLayer[] layers, ComputeContext compute, AttentionKind attention, int hidden, int intermediate)
{
    private readonly ConcurrentBag<EncoderWorkspace> _workspaces = [];

    public ComputeContext Compute => compute;

    public AttentionKind Attention => attention;

    public int Layers => layers.Length;

    /// <summary>A workspace for one call; give it back with <see cref="Return"/>.</summary>
    public EncoderWorkspace Rent() => _workspaces.TryTake(out var ws) ? ws : new EncoderWorkspace(hidden, intermediate);

    public void Return(EncoderWorkspace ws) => _workspaces.Add(ws);

    /// <summary>
    /// Runs every layer on ws.Batch (already embedded) under <paramref name="plan"/>; <paramref name="frozen"/>
    /// collects the states of dropped rows when the caller pools them. Returns the token rows each sequence
    /// put through the layers (the work a plan saves). <paramref name="afterLayer"/> sees the batch after each
    /// layer and its reduction, <paramref name="beforeReduction"/> the scored batch before rows are removed.
    /// </summary>
    public int[] Run(EncoderWorkspace ws, CompressionPlan plan, FrozenStates? frozen, Action<int, TokenBatch>? afterLayer, Action<int, TokenBatch>? beforeReduction)
    {
        var batch = ws.Batch;
        var metric = plan.IsDense ? null : plan.ParsedMetric;
        var profile = compute.Profile;
        var tokenLayers = new int[batch.Sequences];
        bool keyBias = false;
        for (int l = 0; l < layers.Length; l++)
        {
            for (int s = 0; s < batch.Sequences; s++) tokenLayers[s] += batch.Length(s);
            bool reduce = metric != null && Array.IndexOf(plan.PruneAt, l) >= 0;
            layers[l].Forward(compute, batch, ws, attention, keyBias, reduce ? metric : null, l, plan.Seed);
            if (reduce)
            {
                beforeReduction?.Invoke(l, batch);
                long r0 = Stopwatch.GetTimestamp();
                Reducer.Reduce(batch, plan, metric!, frozen);
                keyBias = LayerSteps.UpdateKeyBias(batch, ws.KeyBias);
                profile?.Add(EncoderProfile.Stage.Compression, r0);
            }
            afterLayer?.Invoke(l, batch);
        }
        return tokenLayers;
    }
}
