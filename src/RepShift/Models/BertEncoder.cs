using System.Collections.Concurrent;
using RepShift.Kernels;
using RepShift.Tokens;

namespace RepShift.Models;

/// <summary>
/// A post-LayerNorm BERT encoder over packed batches: embeddings → N × (fused QKV GEMM → attention →
/// output GEMM + residual → LayerNorm → GELU FFN → GEMM + residual → LayerNorm) → pooling.
/// Weights are packed once here; <see cref="Encode"/> is thread-safe (each call rents a workspace).
/// </summary>
public sealed class BertEncoder
{
    private readonly BertWeights _weights;
    private readonly PackedLayer[] _layers;
    private readonly ConcurrentBag<EncoderWorkspace> _workspaces = [];

    public BertEncoder(BertWeights weights, string source = "model")
    {
        weights.Validate(source);
        _weights = weights;
        _layers = Array.ConvertAll(weights.Layers, l => new PackedLayer(l, weights.Config));
    }

    public BertConfig Config => _weights.Config;

    /// <summary>Attention kernel used by the layers.</summary>
    public AttentionKind Attention { get; set; } = AttentionKind.Flash;

    /// <summary>Embeds each sequence of token ids (already wrapped in [CLS] … [SEP]); one pooled, optionally L2-normalised vector each.</summary>
    public float[][] Encode(IReadOnlyList<int[]> ids)
    {
        var ws = Rent();
        try
        {
            Run(ids, ws);
            return Pool(ws.Batch);
        }
        finally { _workspaces.Add(ws); }
    }

    /// <summary>The last hidden state of each sequence, [length · Hidden] row-major (what ONNX exports as last_hidden_state).</summary>
    public float[][] HiddenStates(IReadOnlyList<int[]> ids)
    {
        var ws = Rent();
        try
        {
            Run(ids, ws);
            var b = ws.Batch;
            var result = new float[b.Sequences][];
            for (int s = 0; s < b.Sequences; s++)
                result[s] = b.Hidden.Slice(b.SeqStarts[s] * b.Dim, b.Length(s) * b.Dim).ToArray();
            return result;
        }
        finally { _workspaces.Add(ws); }
    }

    private EncoderWorkspace Rent() => _workspaces.TryTake(out var ws) ? ws : new EncoderWorkspace(Config.Hidden, Config.Intermediate);

    private void Run(IReadOnlyList<int[]> ids, EncoderWorkspace ws)
    {
        var lengths = new int[ids.Count];
        for (int s = 0; s < ids.Count; s++)
        {
            int n = ids[s].Length;
            if (n == 0) throw new ArgumentException($"sequence {s} is empty; every sequence needs at least [CLS] and [SEP]");
            if (n > Config.MaxPositions) throw new ArgumentException($"sequence {s} has {n} tokens, the model takes at most {Config.MaxPositions}; truncate it");
            lengths[s] = n;
        }
        var batch = ws.Batch;
        batch.Reset(lengths);
        ws.EnsureCapacity(batch.Count);
        Embed(ids, batch);
        foreach (var layer in _layers) layer.Forward(batch, ws, Attention);
    }

    private void Embed(IReadOnlyList<int[]> ids, TokenBatch batch)
    {
        var c = Config;
        int d = c.Hidden;
        var word = _weights.WordEmbeddings;
        var pos = _weights.PositionEmbeddings;
        var type = _weights.TokenTypeEmbeddings;
        for (int s = 0; s < ids.Count; s++)
        {
            var seq = ids[s];
            int start = batch.SeqStarts[s];
            for (int i = 0; i < seq.Length; i++)
            {
                int id = seq[i];
                if ((uint)id >= (uint)c.VocabSize) throw new ArgumentException($"token id {id} in sequence {s} is outside the vocabulary [0, {c.VocabSize})");
                var row = batch.Row(start + i);
                System.Numerics.Tensors.TensorPrimitives.Add(word.AsSpan(id * d, d), pos.AsSpan(batch.Origin[start + i] * d, d), row);
                if (type.Length > 0) System.Numerics.Tensors.TensorPrimitives.Add(row, type.AsSpan(0, d), row);
            }
        }
        RowNorm(batch.HiddenArray, batch.Count, d, _weights.EmbeddingNormGamma, _weights.EmbeddingNormBeta, c.LayerNormEps);
    }

    /// <summary>Pools each sequence (size-weighted mean or [CLS]) and L2-normalises if the model asks for it.</summary>
    private float[][] Pool(TokenBatch b)
    {
        int d = b.Dim;
        var result = new float[b.Sequences][];
        for (int s = 0; s < b.Sequences; s++)
        {
            var v = new float[d];
            int start = b.SeqStarts[s], end = b.SeqStarts[s + 1];
            if (Config.Pooling == PoolingMode.Cls) b.Row(start).CopyTo(v);
            else
            {
                float total = 0;
                for (int t = start; t < end; t++)
                {
                    System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(b.Row(t), b.Size[t], v, v);
                    total += b.Size[t];
                }
                System.Numerics.Tensors.TensorPrimitives.Divide(v, total, v);
            }
            if (Config.Normalize)
            {
                float norm = System.Numerics.Tensors.TensorPrimitives.Norm<float>(v);
                if (norm > 0) System.Numerics.Tensors.TensorPrimitives.Divide(v, norm, v);
            }
            result[s] = v;
        }
        return result;
    }

    /// <summary>LayerNorm over rows, split across threads in chunks.</summary>
    internal static void RowNorm(float[] data, int rows, int dim, float[] gamma, float[] beta, float eps)
    {
        const int chunk = 32;
        Parallelism.For((rows + chunk - 1) / chunk, c =>
        {
            int r0 = c * chunk, r1 = Math.Min(rows, r0 + chunk);
            for (int r = r0; r < r1; r++) LayerNorm.ApplyRow(data.AsSpan(r * dim, dim), gamma, beta, eps);
        });
    }

    /// <summary>One layer's weights, packed for the GEMM, and its forward pass.</summary>
    private sealed class PackedLayer
    {
        private readonly BertLayerWeights _w;
        private readonly BertConfig _c;
        private readonly PackedMatrix _qkv, _attnOut, _ffnIn, _ffnOut;
        private readonly float[] _qkvBias;

        public PackedLayer(BertLayerWeights w, BertConfig c)
        {
            _w = w;
            _c = c;
            int d = c.Hidden;
            // Q, K and V side by side: one GEMM with N = 3D instead of three.
            var fused = new float[d * 3 * d];
            for (int r = 0; r < d; r++)
            {
                w.QueryWeight.AsSpan(r * d, d).CopyTo(fused.AsSpan(r * 3 * d, d));
                w.KeyWeight.AsSpan(r * d, d).CopyTo(fused.AsSpan(r * 3 * d + d, d));
                w.ValueWeight.AsSpan(r * d, d).CopyTo(fused.AsSpan(r * 3 * d + 2 * d, d));
            }
            _qkv = PackedMatrix.Pack(fused, d, 3 * d);
            _qkvBias = [.. w.QueryBias, .. w.KeyBias, .. w.ValueBias];
            _attnOut = PackedMatrix.Pack(w.AttentionOutputWeight, d, d);
            _ffnIn = PackedMatrix.Pack(w.IntermediateWeight, d, c.Intermediate);
            _ffnOut = PackedMatrix.Pack(w.OutputWeight, c.Intermediate, d);
        }

        public void Forward(TokenBatch batch, EncoderWorkspace ws, AttentionKind kind)
        {
            int t = batch.Count, d = _c.Hidden;
            var x = batch.HiddenArray;
            Gemm.Multiply(x.AsSpan(0, t * d), t, _qkv, _qkvBias, ws.Qkv);

            var options = new AttentionOptions { Heads = _c.Heads, HeadDim = _c.HeadDim, InputStride = 3 * d, OutputStride = d };
            var qkv = ws.Qkv.AsSpan(0, t * 3 * d);
            var seqStarts = batch.SeqStarts;
            if (kind == AttentionKind.Naive) NaiveAttention.Run(qkv, qkv[d..], qkv[(2 * d)..], ws.Context, seqStarts, options);
            else FlashAttention.Run(qkv, qkv[d..], qkv[(2 * d)..], ws.Context, seqStarts, options);

            Gemm.Multiply(ws.Context.AsSpan(0, t * d), t, _attnOut, _w.AttentionOutputBias, ws.Attended, residual: x.AsSpan(0, t * d));
            RowNorm(ws.Attended, t, d, _w.AttentionNormGamma, _w.AttentionNormBeta, _c.LayerNormEps);

            Gemm.Multiply(ws.Attended.AsSpan(0, t * d), t, _ffnIn, _w.IntermediateBias, ws.Ffn, Activation.Gelu);
            Gemm.Multiply(ws.Ffn.AsSpan(0, t * _c.Intermediate), t, _ffnOut, _w.OutputBias, x, residual: ws.Attended.AsSpan(0, t * d));
            RowNorm(x, t, d, _w.OutputNormGamma, _w.OutputNormBeta, _c.LayerNormEps);
        }
    }
}
