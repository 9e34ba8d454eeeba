using System.Numerics.Tensors;
using RepShift.Compression;
using RepShift.Kernels;
using RepShift.Models;
using RepShift.Tokens;

namespace RepShift.Vision;

/// <summary>
/// One pre-LN ViT layer with its weights packed for the GEMM: h = x + A(LN₁(x)), y = h + M(LN₂(h)).
/// The residual stream is never normalised in place, so a branch's representation shift is simply the
/// norm of its output (‖A(LN₁(x))‖, ‖M(LN₂(h))‖, the paper's MLP shift); when a plan asks for one, the
/// branch output is kept apart just long enough to be measured before its residual add.
/// </summary>
internal sealed class VitLayer : IEncoderLayer
{
    private readonly ViTLayerWeights _w;
    private readonly ViTConfig _c;
    private readonly PackedMatrix _qkv, _proj, _fc1, _fc2;

    public VitLayer(ViTLayerWeights w, ViTConfig c)
    {
        _w = w;
        _c = c;
        int d = c.Hidden, f = c.Intermediate;
        _qkv = PackedMatrix.Pack(w.QkvWeight, d, 3 * d);
        _proj = PackedMatrix.Pack(w.ProjWeight, d, d);
        _fc1 = PackedMatrix.Pack(w.Fc1Weight, d, f);
        _fc2 = PackedMatrix.Pack(w.Fc2Weight, f, d);
    }

    public void Forward(ComputeContext compute, TokenBatch batch, EncoderWorkspace ws, AttentionKind kind, bool keyBias, ScoreMetric? metric, int layerIndex, int seed)
    {
        int t = batch.Count, d = _c.Hidden, f = _c.Intermediate;
        var x = batch.HiddenArray.AsSpan(0, t * d);
        var branch = ws.Attended.AsSpan(0, t * d);
        var scores = batch.Score;
        var shift = metric is { Kind: ScoreKind.Shift } m ? m : null;
        if (shift is { Sublayer: true }) throw new RepShiftException($"metric '{shift}': the -sub form needs a post-LN model; in a pre-LN ViT a branch's shift is its output (use {shift with { Sublayer = false }})");
        if (shift is { Site: ShiftSite.Layer }) x.CopyTo(ws.Before);

        x.CopyTo(branch);
        LayerNorm.Apply(compute, ws.Attended, t, d, _w.Norm1Gamma, _w.Norm1Beta, _c.LayerNormEps);
        Gemm.Multiply(compute, branch, t, _qkv, _w.QkvBias, ws.Qkv);
        LayerSteps.Attend(compute, batch, ws, _c.Heads, _c.HeadDim, kind, keyBias, metric);
        var context = ws.Context.AsSpan(0, t * d);
        if (shift is { Site: ShiftSite.Attention })
        {
            Gemm.Multiply(compute, context, t, _proj, _w.ProjBias, branch);
            Scoring.Shift(x, branch, afterIsBranch: true, d, shift.Distance, shift.Relative, scores);
            TensorPrimitives.Add(x, branch, x);
        }
        else Gemm.Multiply(compute, context, t, _proj, _w.ProjBias, x, residual: x); // each element is read before it is written

        x.CopyTo(branch);
        LayerNorm.Apply(compute, ws.Attended, t, d, _w.Norm2Gamma, _w.Norm2Beta, _c.LayerNormEps);
        var hidden = ws.Ffn.AsSpan(0, t * f);
        Gemm.Multiply(compute, branch, t, _fc1, _w.Fc1Bias, hidden, Activation.Gelu);
        if (shift is { Site: ShiftSite.Mlp })
        {
            Gemm.Multiply(compute, hidden, t, _fc2, _w.Fc2Bias, branch);
            Scoring.Shift(x, branch, afterIsBranch: true, d, shift.Distance, shift.Relative, scores);
            TensorPrimitives.Add(x, branch, x);
        }
        else Gemm.Multiply(compute, hidden, t, _fc2, _w.Fc2Bias, x, residual: x);

        // Scores read off the layer's output or the attention kernel's per-key sums.
        if (metric != null) LayerSteps.ScoreOutput(batch, ws, metric, layerIndex, seed);
    }
}
