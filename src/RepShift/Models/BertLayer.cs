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
    private readonly LinearWeights _qkv, _attnOut, _ffnIn, _ffnOut;
    private readonly float[] _qkvBias;

    // precision: format of the four weight matrices; attention, LayerNorm, GELU and residuals stay fp32.
    public BertLayer(BertLayerWeights w, BertConfig c, Precision precision)
    {
        _w = new LayerVectors(w.AttentionOutputBias, w.AttentionNormGamma, w.AttentionNormBeta, w.IntermediateBias, w.OutputBias, w.OutputNormGamma, w.OutputNormBeta);
        _c = c;
        int d = c.Hidden;
        // Q, K and V side by side (fused at load): one GEMM with N = 3D instead of three.
        _qkv = new LinearWeights(w.QkvWeight, d, 3 * d, precision);
        _qkvBias = w.QkvBias;
        _attnOut = new LinearWeights(w.AttentionOutputWeight, d, d, precision);
        _ffnIn = new LinearWeights(w.IntermediateWeight, d, c.Intermediate, precision);
        _ffnOut = new LinearWeights(w.OutputWeight, c.Intermediate, d, precision);
    }

    /// <summary>Bytes of the weights this layer holds (packed matrices and vectors).</summary>
    public long Bytes => _qkv.Bytes + _attnOut.Bytes + _ffnIn.Bytes + _ffnOut.Bytes
        + 4L * (_qkvBias.Length + _w.AttentionOutputBias.Length + _w.AttentionNormGamma.Length + _w.AttentionNormBeta.Length
            + _w.IntermediateBias.Length + _w.OutputBias.Length + _w.OutputNormGamma.Length + _w.OutputNormBeta.Length);

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
        _qkv.Multiply(compute, x, t, _qkvBias, ws.Qkv);
        Lap(profile, EncoderProfile.Stage.QkvProjection, ref mark);

        LayerSteps.Attend(compute, batch, ws, _c.Heads, _c.HeadDim, kind, keyBias, metric);
        Lap(profile, EncoderProfile.Stage.Attention, ref mark);

        if (attnBranch)
        {
            // The branch output A(x) is needed on its own, so the residual is added after scoring.
            _attnOut.Multiply(compute, ws.Context.AsSpan(0, t * d), t, _w.AttentionOutputBias, h);
            Scoring.Shift(x, h, afterIsBranch: true, d, shift!.Distance, shift.Relative, scores);
            TensorPrimitives.Add(h, x, h);
        }
        else _attnOut.Multiply(compute, ws.Context.AsSpan(0, t * d), t, _w.AttentionOutputBias, h, residual: x);
        LayerNorm.Apply(compute, ws.Attended, t, d, _w.AttentionNormGamma, _w.AttentionNormBeta, _c.LayerNormEps);
        if (shift is { Site: ShiftSite.Attention, Sublayer: true }) Scoring.Shift(x, h, afterIsBranch: false, d, shift.Distance, shift.Relative, scores);
        Lap(profile, EncoderProfile.Stage.AttentionOutput, ref mark);

        _ffnIn.Multiply(compute, h, t, _w.IntermediateBias, ws.Ffn, Activation.Gelu);
        Lap(profile, EncoderProfile.Stage.FfnIn, ref mark);
        if (mlpBranch)
        {
            _ffnOut.Multiply(compute, ws.Ffn.AsSpan(0, t * _c.Intermediate), t, _w.OutputBias, x);
            Scoring.Shift(h, x, afterIsBranch: true, d, shift!.Distance, shift.Relative, scores);
            TensorPrimitives.Add(x, h, x);
        }
        else _ffnOut.Multiply(compute, ws.Ffn.AsSpan(0, t * _c.Intermediate), t, _w.OutputBias, x, residual: h);
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
