using RepShift.Compression;
using RepShift.Kernels;
using RepShift.Tokens;

namespace RepShift.Models;

/// <summary>
/// The steps the post-LN text layer (<see cref="BertLayer"/>) and the pre-LN vision layer
/// (<c>RepShift.Vision.VitLayer</c>) share: attention over the fused QKV buffer, the scores read off a
/// layer's output or off the attention kernel's per-key sums, and the key bias after a reduction.
/// </summary>
internal static class LayerSteps
{
    /// <summary>Attention from ws.Qkv ([T, 3D]: Q, K, V side by side) into ws.Context, with the per-key sums a metric needs.</summary>
    public static void Attend(ComputeContext compute, TokenBatch batch, EncoderWorkspace ws, int heads, int headDim, AttentionKind kind, bool keyBias, ScoreMetric? metric)
    {
        int t = batch.Count, d = heads * headDim;
        var options = new AttentionOptions
        {
            Heads = heads,
            HeadDim = headDim,
            InputStride = 3 * d,
            OutputStride = d,
            KeyBias = keyBias ? ws.KeyBias : null,
            ClsAttention = metric?.Kind == ScoreKind.ClsAttention ? ws.ClsAttention : null,
            AttentionReceived = metric?.Kind == ScoreKind.MeanAttention ? ws.AttentionReceived : null,
        };
        var qkv = ws.Qkv.AsSpan(0, t * 3 * d);
        if (kind == AttentionKind.Naive) NaiveAttention.Run(compute, qkv, qkv[d..], qkv[(2 * d)..], ws.Context, batch.SeqStarts, options);
        else FlashAttention.Run(compute, qkv, qkv[d..], qkv[(2 * d)..], ws.Context, batch.SeqStarts, options);
    }

    /// <summary>
    /// Scores that read the layer's output y (norm, whole-layer shift against ws.Before) or the attention
    /// kernel's per-key sums ([CLS] attention, mean attention received), and the seeded random score.
    /// Branch shifts are scored inside the layer, where the branch output exists; they are left alone here.
    /// </summary>
    public static void ScoreOutput(TokenBatch batch, EncoderWorkspace ws, ScoreMetric metric, int layerIndex, int seed)
    {
        int t = batch.Count, d = batch.Dim;
        var y = batch.HiddenArray.AsSpan(0, t * d);
        var scores = batch.Score;
        switch (metric.Kind)
        {
            case ScoreKind.Norm:
                Scoring.Norm(y, d, scores);
                break;
            case ScoreKind.Shift when metric.Site == ShiftSite.Layer:
                Scoring.Shift(ws.Before.AsSpan(0, t * d), y, afterIsBranch: false, d, metric.Distance, metric.Relative, scores);
                break;
            case ScoreKind.ClsAttention:
                ws.ClsAttention.AsSpan(0, t).CopyTo(scores);
                break;
            case ScoreKind.MeanAttention:
                // Attention received, averaged over the sequence's queries (the kernel sums over them).
                for (int s = 0; s < batch.Sequences; s++)
                    for (int i = batch.SeqStarts[s]; i < batch.SeqStarts[s + 1]; i++) scores[i] = ws.AttentionReceived[i] / batch.Length(s);
                break;
            case ScoreKind.Random:
                for (int i = 0; i < t; i++) scores[i] = Scoring.Random(seed, layerIndex, batch.TokenId[i], batch.Origin[i]);
                break;
        }
    }

    /// <summary>log(size) of every row, so attention treats a merged token as the tokens it stands for; false when all sizes are 1.</summary>
    public static bool UpdateKeyBias(TokenBatch batch, float[] keyBias)
    {
        bool any = false;
        var size = batch.Size;
        for (int i = 0; i < size.Length; i++)
        {
            keyBias[i] = MathF.Log(size[i]);
            any |= size[i] != 1f;
        }
        return any;
    }
}
