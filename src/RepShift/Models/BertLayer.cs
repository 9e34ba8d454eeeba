using System.Diagnostics;
using System.Numerics.Tensors;
using RepShift.Compression;
using RepShift.Kernels;
using RepShift.Tokens;

namespace RepShift.Models;

/// <summary>
/// One post-LN BERT layer with its weights packed for the GEMM:
/// x → h = LN₁(x + A(x)) → y = LN₂(h + M(h)). When asked for a score it also measures, without an
/// N×N map, how much the layer moved each token (or reads the attention kernel's per-key outputs).
/// </summary>
internal sealed class BertLayer : IEncoderLayer
{
    // Only the vectors are kept from the weights: the matrices live on packed, so the unpacked
    // copies can be collected once the model bundle is dropped.
    private readonly LayerVectors _w;
    private readonly BertConfig _c;
    private readonly PackedMatrix _qkv, _attnOut, _ffnIn, _ffnOut;
    private readonly float[] _qkvBias;

    public BertLayer(BertLayerWeights w, BertConfig c)
    {
        _w = new LayerVectors(w.AttentionOutputBias, w.AttentionNormGamma, w.AttentionNormBeta, w.IntermediateBias, w.OutputBias, w.OutputNormGamma, w.OutputNormBeta);
        _c = c;
        int d = c.Hidden;
        // Q, K and V side by side (fused at load): one GEMM with N = 3D instead of three.
        _qkv = PackedMatrix.Pack(w.QkvWeight, d, 3 * d);
        _qkvBias = w.QkvBias;
        _attnOut = PackedMatrix.Pack(w.AttentionOutputWeight, d, d);
        _ffnIn = PackedMatrix.Pack(w.IntermediateWeight, d, c.Intermediate);
        _ffnOut = PackedMatrix.Pack(w.OutputWeight, c.Intermediate, d);
    }

    public void Forward(ComputeContext compute, TokenBatch batch, EncoderWorkspace ws, AttentionKind kind, bool keyBias, ScoreMetric? metric, int layerIndex, int seed)
    {
        var profile = compute.Profile;
        int t = batch.Count, d = _c.Hidden;
        var x = batch.HiddenArray.AsSpan(0, t * d);
        var h = ws.Attended.AsSpan(0, t * d);
        var scores = batch.Score;
        var shift = metric is { Kind: ScoreKind.Shift } m ? m : null;
        bool attnBranch = shift is { Site: ShiftSite.Attention, Sublayer: false };
        bool mlpBranch = shift is { Site: ShiftSite.Mlp, Sublayer: false };
        if (shift is { Site: ShiftSite.Layer }) x.CopyTo(ws.Before);

        long mark = Stopwatch.GetTimestamp();
        Gemm.Multiply(compute, x, t, _qkv, _qkvBias, ws.Qkv);
        Lap(profile, EncoderProfile.Stage.QkvProjection, ref mark);

        LayerSteps.Attend(compute, batch, ws, _c.Heads, _c.HeadDim, kind, keyBias, metric);
        Lap(profile, EncoderProfile.Stage.Attention, ref mark);

        if (attnBranch)
        {
            // The branch output A(x) is needed on its own, so the residual is added after scoring.
            Gemm.Multiply(compute, ws.Context.AsSpan(0, t * d), t, _attnOut, _w.AttentionOutputBias, h);
            Scoring.Shift(x, h, afterIsBranch: true, d, shift!.Distance, shift.Relative, scores);
            TensorPrimitives.Add(h, x, h);
        }
        else Gemm.Multiply(compute, ws.Context.AsSpan(0, t * d), t, _attnOut, _w.AttentionOutputBias, h, residual: x);
        LayerNorm.Apply(compute, ws.Attended, t, d, _w.AttentionNormGamma, _w.AttentionNormBeta, _c.LayerNormEps);
        if (shift is { Site: ShiftSite.Attention, Sublayer: true }) Scoring.Shift(x, h, afterIsBranch: false, d, shift.Distance, shift.Relative, scores);
        Lap(profile, EncoderProfile.Stage.AttentionOutput, ref mark);

        Gemm.Multiply(compute, h, t, _ffnIn, _w.IntermediateBias, ws.Ffn, Activation.Gelu);
        Lap(profile, EncoderProfile.Stage.FfnIn, ref mark);
        if (mlpBranch)
        {
            Gemm.Multiply(compute, ws.Ffn.AsSpan(0, t * _c.Intermediate), t, _ffnOut, _w.OutputBias, x);
            Scoring.Shift(h, x, afterIsBranch: true, d, shift!.Distance, shift.Relative, scores);
            TensorPrimitives.Add(x, h, x);
        }
        else Gemm.Multiply(compute, ws.Ffn.AsSpan(0, t * _c.Intermediate), t, _ffnOut, _w.OutputBias, x, residual: h);
        LayerNorm.Apply(compute, batch.HiddenArray, t, d, _w.OutputNormGamma, _w.OutputNormBeta, _c.LayerNormEps);
        Lap(profile, EncoderProfile.Stage.FfnOut, ref mark);

        if (metric != null) ScoreOutput(batch, ws, metric, layerIndex, seed);
        Lap(profile, EncoderProfile.Stage.Compression, ref mark);
    }

    /// <summary>Scores that read the layer's output or the attention kernel's per-key sums; the post-LN MLP sublayer shift compares y with h.</summary>
    private static void ScoreOutput(TokenBatch batch, EncoderWorkspace ws, ScoreMetric metric, int layerIndex, int seed)
    {
        int t = batch.Count, d = batch.Dim;
        if (metric is { Kind: ScoreKind.Shift, Site: ShiftSite.Mlp, Sublayer: true })
            Scoring.Shift(ws.Attended.AsSpan(0, t * d), batch.HiddenArray.AsSpan(0, t * d), afterIsBranch: false, d, metric.Distance, metric.Relative, batch.Score);
        else LayerSteps.ScoreOutput(batch, ws, metric, layerIndex, seed);
    }

    private static void Lap(EncoderProfile? profile, EncoderProfile.Stage stage, ref long mark)
    {
        if (profile == null) return;
        profile.Add(stage, mark);
        mark = Stopwatch.GetTimestamp();
    }

    private sealed record LayerVectors(float[] AttentionOutputBias, float[] AttentionNormGamma, float[] AttentionNormBeta,
        float[] IntermediateBias, float[] OutputBias, float[] OutputNormGamma, float[] OutputNormBeta);
}
