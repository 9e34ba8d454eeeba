using System.Numerics.Tensors;
using RepShift.Kernels;
using RepShift.Vision;

namespace RepShift.Training;

/// <summary>
/// The training-time ViT: forward over a batch of equal-size images keeping every activation the
/// backward pass needs, then gradients of the mean cross-entropy for all parameters of
/// <see cref="ViTWeights.Parameters"/> (into a second, same-shaped <see cref="ViTWeights"/>). Pre-LN layers:
/// h = x + Proj(Attn(LN₁(x))), y = h + Fc2(GELU(Fc1(LN₂(h)))); the head reads LN([CLS]).
/// No distillation token (DeiT models are for inference only).
/// </summary>
public sealed class VitGraph
{
    private sealed class LayerActs
    {
        public float[] X = [], Xhat1 = [], Rstd1 = [], A = [], Qkv = [], Probs = [], Ctx = [], H = [], Xhat2 = [], Rstd2 = [], M = [], Pre = [], F = [];
    }

    private readonly ViTWeights _w;
    private readonly ComputeContext _compute;
    private readonly ViTConfig _c;
    private readonly LayerActs[] _acts;
    private int _capacity;
    private float[] _patches = [], _embedded = [], _out = [], _cls = [], _clsHat = [], _clsRstd = [], _clsNorm = [], _logits = [];
    private float[] _grad = [], _grad2 = [], _gradF = [], _gradQkv = [], _gradCtx = [], _scratch = [], _gradCls = [], _gradPatch = [];

    public VitGraph(ViTWeights weights, ComputeContext compute)
    {
        weights.Validate("training model");
        if (weights.Config.DistillationToken) throw new RepShiftException("training supports ViT without a distillation token only");
        if (weights.Config.NumLabels < 1) throw new RepShiftException("training needs a classification head (num_labels ≥ 1)");
        _w = weights;
        _compute = compute;
        _c = weights.Config;
        _acts = [.. Enumerable.Range(0, _c.Layers).Select(_ => new LayerActs())];
    }

    /// <summary>Batch size of the last forward pass.</summary>
    public int BatchSize { get; private set; }

    /// <summary>Logits of the last forward pass, [BatchSize, NumLabels].</summary>
    public ReadOnlySpan<float> Logits => _logits.AsSpan(0, BatchSize * _c.NumLabels);

    /// <summary>
    /// Runs <paramref name="images"/> ([batch, Channels, ImageSize, ImageSize], already normalised) and returns
    /// the mean cross-entropy against <paramref name="labels"/> (when given).
    /// </summary>
    public float Forward(ReadOnlySpan<float> images, int batch, ReadOnlySpan<int> labels = default)
    {
        var c = _c;
        int d = c.Hidden, s = c.Tokens, n = c.Patches, t = batch * s, f = c.Intermediate;
        if (images.Length != batch * c.Channels * c.ImageSize * c.ImageSize) throw new ArgumentException("image buffer does not match the batch size");
        Ensure(batch);
        BatchSize = batch;

        PatchUnfold.Unfold(images, batch, c.Channels, c.ImageSize, c.PatchSize, _patches);
        LinearOps.Forward(_compute, _patches, batch * n, _w.PatchWeight, c.PatchInput, d, _w.PatchBias, _embedded);
        var x = _acts[0].X;
        for (int b = 0; b < batch; b++)
        {
            TensorPrimitives.Add(_w.ClsToken, _w.PositionEmbeddings.AsSpan(0, d), x.AsSpan(b * s * d, d));
            TensorPrimitives.Add(_embedded.AsSpan(b * n * d, n * d), _w.PositionEmbeddings.AsSpan(d, n * d), x.AsSpan((b * s + 1) * d, n * d));
        }

        for (int l = 0; l < c.Layers; l++)
        {
            var a = _acts[l];
            var lw = _w.Layers[l];
            var y = l + 1 < c.Layers ? _acts[l + 1].X : _out;
            LayerNormOps.Forward(_compute, a.X, t, d, lw.Norm1Gamma, lw.Norm1Beta, c.LayerNormEps, a.Xhat1, a.Rstd1, a.A);
            LinearOps.Forward(_compute, a.A, t, lw.QkvWeight, d, 3 * d, lw.QkvBias, a.Qkv);
            AttentionOps.Forward(_compute, a.Qkv, batch, s, c.Heads, c.HeadDim, a.Probs, a.Ctx);
            LinearOps.Forward(_compute, a.Ctx, t, lw.ProjWeight, d, d, lw.ProjBias, a.H, residual: a.X.AsSpan(0, t * d));
            LayerNormOps.Forward(_compute, a.H, t, d, lw.Norm2Gamma, lw.Norm2Beta, c.LayerNormEps, a.Xhat2, a.Rstd2, a.M);
            LinearOps.Forward(_compute, a.M, t, lw.Fc1Weight, d, f, lw.Fc1Bias, a.Pre);
            a.Pre.AsSpan(0, t * f).CopyTo(a.F);
            Activations.Gelu(a.F.AsSpan(0, t * f));
            LinearOps.Forward(_compute, a.F, t, lw.Fc2Weight, f, d, lw.Fc2Bias, y, residual: a.H.AsSpan(0, t * d));
        }

        for (int b = 0; b < batch; b++) _out.AsSpan(b * s * d, d).CopyTo(_cls.AsSpan(b * d, d));
        LayerNormOps.Forward(_compute, _cls, batch, d, _w.NormGamma, _w.NormBeta, c.LayerNormEps, _clsHat, _clsRstd, _clsNorm);
        LinearOps.Forward(_compute, _clsNorm, batch, _w.HeadWeight, d, c.NumLabels, _w.HeadBias, _logits);
        return labels.IsEmpty ? float.NaN : CrossEntropy.Loss(_logits, batch, c.NumLabels, labels, LabelSmoothing);
    }

    /// <summary>Label smoothing ε of the loss (0: plain cross-entropy against one-hot labels).</summary>
    public float LabelSmoothing { get; init; }

    /// <summary>Gradients of the last forward's mean cross-entropy, overwritten into <paramref name="grads"/>.</summary>
    public void Backward(ReadOnlySpan<int> labels, ViTWeights grads)
    {
        var c = _c;
        int batch = BatchSize, d = c.Hidden, s = c.Tokens, n = c.Patches, t = batch * s, f = c.Intermediate, k = c.NumLabels;
        var dLogits = new float[batch * k];
        CrossEntropy.Gradient(_logits, batch, k, labels, dLogits, LabelSmoothing);

        var dClsNorm = _gradCls;
        LinearOps.Backward(_compute, _clsNorm, dLogits, batch, _w.HeadWeight, d, k, grads.HeadWeight, grads.HeadBias, dClsNorm.AsSpan(0, batch * d), false, _scratch);
        var dCls = new float[batch * d];
        LayerNormOps.Backward(_compute, dClsNorm, _clsHat, _clsRstd, batch, d, _w.NormGamma, dCls, grads.NormGamma, grads.NormBeta);
        var dy = _grad;
        Array.Clear(dy, 0, t * d);
        for (int b = 0; b < batch; b++) dCls.AsSpan(b * d, d).CopyTo(dy.AsSpan(b * s * d, d));

        for (int l = c.Layers - 1; l >= 0; l--)
        {
            var a = _acts[l];
            var lw = _w.Layers[l];
            var lg = grads.Layers[l];
            // y = h + Fc2(F): dh starts as dy; dF = dy·W2ᵀ.
            var dh = _grad2;
            dy.AsSpan(0, t * d).CopyTo(dh);
            LinearOps.Backward(_compute, a.F, dy, t, lw.Fc2Weight, f, d, lg.Fc2Weight, lg.Fc2Bias, _gradF.AsSpan(0, t * f), false, _scratch);
            GeluOps.Backward(_compute, a.Pre, _gradF, t * f);
            var dm = _gradCtx;
            LinearOps.Backward(_compute, a.M, _gradF, t, lw.Fc1Weight, d, f, lg.Fc1Weight, lg.Fc1Bias, dm.AsSpan(0, t * d), false, _scratch);
            LayerNormOps.Backward(_compute, dm, a.Xhat2, a.Rstd2, t, d, lw.Norm2Gamma, dh, lg.Norm2Gamma, lg.Norm2Beta);
            // h = x + Proj(ctx): dx starts as dh.
            dh.AsSpan(0, t * d).CopyTo(dy);
            LinearOps.Backward(_compute, a.Ctx, dh, t, lw.ProjWeight, d, d, lg.ProjWeight, lg.ProjBias, _gradCtx.AsSpan(0, t * d), false, _scratch);
            AttentionOps.Backward(_compute, a.Qkv, a.Probs, _gradCtx, batch, s, c.Heads, c.HeadDim, _gradQkv);
            var da = _gradCtx;
            LinearOps.Backward(_compute, a.A, _gradQkv, t, lw.QkvWeight, d, 3 * d, lg.QkvWeight, lg.QkvBias, da.AsSpan(0, t * d), false, _scratch);
            LayerNormOps.Backward(_compute, da, a.Xhat1, a.Rstd1, t, d, lw.Norm1Gamma, dy, lg.Norm1Gamma, lg.Norm1Beta);
        }

        // x0 = [cls | patch embeddings] + pos.
        Array.Clear(grads.ClsToken);
        Array.Clear(grads.PositionEmbeddings);
        for (int b = 0; b < batch; b++)
        {
            var rows = dy.AsSpan(b * s * d, s * d);
            TensorPrimitives.Add(grads.PositionEmbeddings, rows, grads.PositionEmbeddings);
            TensorPrimitives.Add(grads.ClsToken, rows[..d], grads.ClsToken);
            rows[d..].CopyTo(_gradPatch.AsSpan(b * n * d, n * d));
        }
        LinearOps.Backward(_compute, _patches, _gradPatch, batch * n, _w.PatchWeight, c.PatchInput, d, grads.PatchWeight, grads.PatchBias, default, false, _scratch);
    }

    private void Ensure(int batch)
    {
        if (batch <= _capacity) return;
        var c = _c;
        int d = c.Hidden, s = c.Tokens, t = batch * s, f = c.Intermediate;
        foreach (var a in _acts)
        {
            a.X = new float[t * d]; a.Xhat1 = new float[t * d]; a.Rstd1 = new float[t]; a.A = new float[t * d];
            a.Qkv = new float[t * 3 * d]; a.Probs = new float[batch * c.Heads * s * s]; a.Ctx = new float[t * d];
            a.H = new float[t * d]; a.Xhat2 = new float[t * d]; a.Rstd2 = new float[t]; a.M = new float[t * d];
            a.Pre = new float[t * f]; a.F = new float[t * f];
        }
        _patches = new float[batch * c.Patches * c.PatchInput];
        _embedded = new float[batch * c.Patches * d];
        _out = new float[t * d];
        _cls = new float[batch * d]; _clsHat = new float[batch * d]; _clsRstd = new float[batch]; _clsNorm = new float[batch * d];
        _logits = new float[batch * c.NumLabels];
        _grad = new float[t * d]; _grad2 = new float[t * d]; _gradF = new float[t * f]; _gradQkv = new float[t * 3 * d];
        _gradCtx = new float[t * d]; _gradCls = new float[batch * d]; _gradPatch = new float[batch * c.Patches * d];
        _scratch = new float[t * Math.Max(f, Math.Max(3 * d, c.PatchInput))];
        _capacity = batch;
    }
}
