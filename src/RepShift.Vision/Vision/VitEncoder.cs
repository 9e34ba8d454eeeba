using System.Numerics.Tensors;
using RepShift.Compression;
using RepShift.Kernels;
using RepShift.Models;
using RepShift.Tokens;

namespace RepShift.Vision;

/// <summary>Logits of each image ([NumLabels] each) and the token rows each image's layers processed, summed.</summary>
public sealed record VitOutput(float[][] Logits, int[] TokenLayers);

/// <summary>
/// A pre-LN ViT/DeiT classifier over packed batches, sharing the text encoder's kernels, <see cref="TokenBatch"/>,
/// compression plans and <see cref="Reducer"/>: patches → tokens (one GEMM over unfolded patches), [CLS]
/// (and the distillation token, both protected from compression), position embeddings, layers with
/// reductions between them (the shared <see cref="EncoderStack"/>), final LayerNorm of [CLS], head. The kernels
/// run on the <see cref="ComputeContext"/> given at construction (the caller owns it). Thread-safe: each call
/// rents a workspace.
/// </summary>
public sealed class VitEncoder
{
    private readonly ViTWeights _w;
    private readonly EncoderStack _stack;
    private readonly PackedMatrix _patch;
    private readonly PackedMatrix? _head, _distHead;

    public VitEncoder(ViTWeights weights, ComputeContext compute, AttentionKind attention = AttentionKind.Flash, string source = "model")
    {
        weights.Validate(source);
        _w = weights;
        var c = weights.Config;
        var layers = Array.ConvertAll<ViTLayerWeights, IEncoderLayer>(weights.Layers, l => new VitLayer(l, c));
        _stack = new EncoderStack(layers, compute, attention, c.Hidden, c.Intermediate);
        _patch = PackedMatrix.Pack(weights.PatchWeight, c.PatchInput, c.Hidden);
        if (c.NumLabels > 0) _head = PackedMatrix.Pack(weights.HeadWeight, c.Hidden, c.NumLabels);
        if (c.NumLabels > 0 && weights.DistHeadWeight.Length > 0) _distHead = PackedMatrix.Pack(weights.DistHeadWeight, c.Hidden, c.NumLabels);
    }

    public ViTConfig Config => _w.Config;

    /// <summary>The threads, kernel, profile and scratch meter the layers run with.</summary>
    public ComputeContext Compute => _stack.Compute;

    public AttentionKind Attention => _stack.Attention;

    /// <summary>Values per preprocessed image: Channels × ImageSize × ImageSize.</summary>
    public int ImageValues => Config.Channels * Config.ImageSize * Config.ImageSize;

    /// <summary>
    /// Classifies preprocessed images ([C, H, W] floats each, see <see cref="ImagePreprocessor"/>) under a
    /// compression plan (dense when null). DeiT with both heads averages them, as transformers does.
    /// </summary>
    public VitOutput Classify(IReadOnlyList<float[]> images, CompressionPlan? plan = null)
    {
        plan ??= CompressionPlan.None;
        var ws = _stack.Rent();
        try
        {
            var tokenLayers = Run(images, ws, plan);
            return new VitOutput(Head(ws.Batch), tokenLayers);
        }
        finally { _stack.Return(ws); }
    }

    /// <summary>Like <see cref="BertEncoder.Trace"/>: the batch after each layer (and before each reduction), for <c>repshift show</c> and tests.</summary>
    public void Trace(IReadOnlyList<float[]> images, CompressionPlan plan, Action<int, TokenBatch> afterLayer, Action<int, TokenBatch>? beforeReduction = null)
    {
        var ws = _stack.Rent();
        try { Run(images, ws, plan, afterLayer, beforeReduction); }
        finally { _stack.Return(ws); }
    }

    private int[] Run(IReadOnlyList<float[]> images, EncoderWorkspace ws, CompressionPlan plan, Action<int, TokenBatch>? afterLayer = null, Action<int, TokenBatch>? beforeReduction = null)
    {
        var c = Config;
        for (int i = 0; i < images.Count; i++)
            if (images[i].Length != ImageValues)
                throw new RepShiftException($"image {i} has {images[i].Length} values; the model takes {c.Channels} channel(s) of {c.ImageSize}×{c.ImageSize} = {ImageValues}");
        var batch = ws.Batch;
        var lengths = new int[images.Count];
        Array.Fill(lengths, c.Tokens);
        batch.Reset(lengths);
        ws.EnsureCapacity(batch.Count);
        Embed(images, batch, ws);

        return _stack.Run(ws, plan, null, afterLayer, beforeReduction);
    }

    /// <summary>Patch embeddings by one GEMM over unfolded patches, plus [CLS]/distillation tokens and positions.</summary>
    private void Embed(IReadOnlyList<float[]> images, TokenBatch batch, EncoderWorkspace ws)
    {
        var c = Config;
        int d = c.Hidden, n = c.Patches, special = c.SpecialTokens, b = images.Count;
        // Patch rows are unfolded into the FFN buffer, which is wider than a patch row in every practical model; grow it otherwise.
        int need = b * n * c.PatchInput;
        if (ws.Ffn.Length < need) ws.Ffn = new float[need];
        var rows = ws.Ffn.AsSpan(0, need);
        for (int i = 0; i < b; i++) PatchUnfold.Unfold(images[i], 1, c.Channels, c.ImageSize, c.PatchSize, rows.Slice(i * n * c.PatchInput, n * c.PatchInput));
        var embedded = ws.Context.AsSpan(0, b * n * d);
        Gemm.Multiply(Compute, rows, b * n, _patch, _w.PatchBias, embedded);
        var pos = _w.PositionEmbeddings;
        for (int i = 0; i < b; i++)
        {
            int start = batch.SeqStarts[i];
            TensorPrimitives.Add(_w.ClsToken, pos.AsSpan(0, d), batch.Row(start));
            if (special == 2) TensorPrimitives.Add(_w.DistToken, pos.AsSpan(d, d), batch.Row(start + 1));
            TensorPrimitives.Add(embedded.Slice(i * n * d, n * d), pos.AsSpan(special * d, n * d), batch.Hidden.Slice((start + special) * d, n * d));
            // Only the special tokens are protected (TokenBatch protects the last row, a text's [SEP], by default).
            for (int k = 0; k < c.Tokens; k++) batch.Protected[start + k] = k < special;
            // The random scorer hashes (token id, position): an id from the pixels makes its choice differ per image.
            int id = ContentId(images[i]);
            batch.TokenId.Slice(start, c.Tokens).Fill(id);
        }
    }

    private static int ContentId(float[] image)
    {
        uint h = 2166136261;
        foreach (float v in image) h = (h ^ (uint)BitConverter.SingleToInt32Bits(v)) * 16777619;
        return (int)(h & 0x7FFFFFFF);
    }

    /// <summary>Final LayerNorm of the special tokens (unaffected by other rows) and the head(s).</summary>
    private float[][] Head(TokenBatch batch)
    {
        var c = Config;
        int d = c.Hidden, k = c.NumLabels, b = batch.Sequences;
        var result = new float[b][];
        if (_head == null)
        {
            for (int i = 0; i < b; i++) result[i] = [];
            return result;
        }
        var cls = new float[b * d];
        var dist = new float[b * d];
        for (int i = 0; i < b; i++)
        {
            // Found by origin: a fused row can land before [CLS] when a reduction removes every patch.
            for (int r = batch.SeqStarts[i]; r < batch.SeqStarts[i + 1]; r++)
            {
                if (batch.Origin[r] == 0) batch.Row(r).CopyTo(cls.AsSpan(i * d, d));
                else if (batch.Origin[r] == 1 && _distHead != null) batch.Row(r).CopyTo(dist.AsSpan(i * d, d));
            }
        }
        LayerNorm.Apply(cls, d, _w.NormGamma, _w.NormBeta, c.LayerNormEps);
        var logits = new float[b * k];
        Gemm.Multiply(Compute, cls, b, _head, _w.HeadBias, logits);
        if (_distHead != null)
        {
            LayerNorm.Apply(dist, d, _w.NormGamma, _w.NormBeta, c.LayerNormEps);
            var second = new float[b * k];
            Gemm.Multiply(Compute, dist, b, _distHead, _w.DistHeadBias, second);
            TensorPrimitives.Add(logits, second, logits);
            TensorPrimitives.Multiply(logits, 0.5f, logits);
        }
        for (int i = 0; i < b; i++) result[i] = logits.AsSpan(i * k, k).ToArray();
        return result;
    }
}
