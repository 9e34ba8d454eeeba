using System.Diagnostics;
using System.Numerics.Tensors;
using RepShift.Compression;
using RepShift.Kernels;
using RepShift.Tokens;

namespace RepShift.Models;

/// <summary>
/// A post-LayerNorm BERT encoder over packed batches: embeddings → layers (<see cref="BertLayer"/>) with
/// optional token reductions between them (<see cref="CompressionPlan"/>) → pooling; the layer loop is the
/// shared <see cref="EncoderStack"/>. Weights are packed once here; the kernels run on the
/// <see cref="ComputeContext"/> given at construction (which the caller owns and disposes).
/// <see cref="Encode"/> is thread-safe (each call rents a workspace).
/// </summary>
public sealed class BertEncoder
{
    private readonly Embeddings _embeddings;
    private readonly EncoderStack _stack;

    /// <summary>
    /// Packs the weights for <paramref name="compute"/>'s kernels. <paramref name="precision"/> is the format of each layer's
    /// four weight matrices and of the word-embedding table: <see cref="Precision.Int8"/> quantizes them here, and the
    /// encoder then keeps no fp32 copy of them.
    /// </summary>
    public BertEncoder(BertWeights weights, ComputeContext compute, AttentionKind attention = AttentionKind.Flash, string source = "model", Precision precision = Precision.Fp32)
    {
        weights.Validate(source);
        if (!Enum.IsDefined(precision)) throw new ArgumentOutOfRangeException(nameof(precision), precision, "unknown precision");
        if (precision == Precision.Int8 && !Int8Gemm.Supported) throw new PlatformNotSupportedException("int8 precision needs AVX2, which this CPU (or runtime) lacks; use fp32");
        var c = weights.Config;
        // Only the embeddings are kept from the weights, not the layer matrices: the layers hold those packed.
        var word = new WordEmbeddingTable(weights.WordEmbeddings, c.VocabSize, c.Hidden, precision);
        _embeddings = new Embeddings(c, word, weights.PositionEmbeddings, weights.TokenTypeEmbeddings, weights.EmbeddingNormGamma, weights.EmbeddingNormBeta);
        _layers = Array.ConvertAll(weights.Layers, l => new BertLayer(l, c, precision));
        _stack = new EncoderStack([.. _layers], compute, attention, c.Hidden, c.Intermediate);
        Precision = precision;
    }

    private readonly BertLayer[] _layers;

    /// <summary>Format of the linear layers and the word-embedding table.</summary>
    public Precision Precision { get; }

    /// <summary>Bytes of model weights this encoder holds (packed matrices, embedding tables, vectors): its resident model size.</summary>
    public long WeightBytes => _embeddings.Word.Bytes
        + 4L * (_embeddings.Position.LongLength + _embeddings.TokenType.LongLength + _embeddings.NormGamma.LongLength + _embeddings.NormBeta.LongLength)
        + _layers.Sum(l => l.Bytes);

    public BertConfig Config => _embeddings.Config;

    /// <summary>The threads, kernel, profile and scratch meter the layers run with.</summary>
    public ComputeContext Compute => _stack.Compute;

    /// <summary>Attention kernel used by the layers.</summary>
    public AttentionKind Attention => _stack.Attention;

    /// <summary>
    /// Embeds each sequence of token ids (already wrapped in [CLS] … [SEP]) under a compression plan
    /// (dense when null); one pooled, optionally L2-normalised vector each, and the work it took.
    /// The plan must have been validated against this model. <paramref name="protectedPrefix"/>[s] tokens after
    /// [CLS] (a prompt) are kept by compression like [CLS] and [SEP].
    /// </summary>
    public EncoderOutput Encode(IReadOnlyList<int[]> ids, CompressionPlan? plan = null, IReadOnlyList<int>? protectedPrefix = null)
    {
        plan ??= CompressionPlan.None;
        var ws = _stack.Rent();
        try
        {
            var tokenLayers = Run(ids, ws, plan, protectedPrefix: protectedPrefix);
            long t0 = Stopwatch.GetTimestamp();
            var pooled = Pool(ws.Batch, plan.Pooling == CompressionPooling.Frozen && !plan.IsDense ? ws.Frozen : null);
            Compute.Profile?.Add(EncoderProfile.Stage.Pooling, t0);
            return new EncoderOutput(pooled, tokenLayers);
        }
        finally { _stack.Return(ws); }
    }

    /// <summary>
    /// Runs <paramref name="ids"/> under <paramref name="plan"/> and calls <paramref name="afterLayer"/>
    /// with the batch after each layer (and after its reduction, if any): scores, surviving rows, their
    /// origins and sizes, for inspection (<c>repshift show</c>) and tests. <paramref name="beforeReduction"/>, when
    /// given, sees the scored batch of each reduction layer before any row is removed (the only time the scores of
    /// the rows about to go can be read). The batch is only valid during the call.
    /// </summary>
    public void Trace(IReadOnlyList<int[]> ids, CompressionPlan plan, Action<int, TokenBatch> afterLayer, Action<int, TokenBatch>? beforeReduction = null)
    {
        var ws = _stack.Rent();
        try { Run(ids, ws, plan, afterLayer, beforeReduction); }
        finally { _stack.Return(ws); }
    }

    /// <summary>The last hidden state of each sequence, [length · Hidden] row-major (what ONNX exports as last_hidden_state).</summary>
    public float[][] HiddenStates(IReadOnlyList<int[]> ids)
    {
        var ws = _stack.Rent();
        try
        {
            Run(ids, ws, CompressionPlan.None);
            var b = ws.Batch;
            var result = new float[b.Sequences][];
            for (int s = 0; s < b.Sequences; s++)
                result[s] = b.Hidden.Slice(b.SeqStarts[s] * b.Dim, b.Length(s) * b.Dim).ToArray();
            return result;
        }
        finally { _stack.Return(ws); }
    }

    /// <summary>Runs embeddings and layers on a workspace; returns token rows processed per sequence, summed over layers.</summary>
    internal int[] Run(IReadOnlyList<int[]> ids, EncoderWorkspace ws, CompressionPlan plan, Action<int, TokenBatch>? afterLayer = null, Action<int, TokenBatch>? beforeReduction = null, IReadOnlyList<int>? protectedPrefix = null)
    {
        for (int s = 0; s < ids.Count; s++)
        {
            int n = ids[s].Length;
            if (n == 0) throw new ArgumentException($"sequence {s} is empty; every sequence needs at least [CLS] and [SEP]");
            if (n > Config.MaxPositions) throw new ArgumentException($"sequence {s} has {n} tokens, the model takes at most {Config.MaxPositions}; truncate it");
        }
        var batch = ws.Batch;
        batch.Reset(ids, protectedPrefix);
        ws.EnsureCapacity(batch.Count);
        ws.Frozen.Reset(batch.Sequences);
        long t0 = Stopwatch.GetTimestamp();
        Embed(ids, batch);
        Compute.Profile?.Add(EncoderProfile.Stage.Embed, t0);
        return _stack.Run(ws, plan, ws.Frozen, afterLayer, beforeReduction);
    }

    private void Embed(IReadOnlyList<int[]> ids, TokenBatch batch)
    {
        var c = Config;
        int d = c.Hidden;
        var word = _embeddings.Word;
        var pos = _embeddings.Position;
        var type = _embeddings.TokenType;
        for (int s = 0; s < ids.Count; s++)
        {
            var seq = ids[s];
            int start = batch.SeqStarts[s];
            for (int i = 0; i < seq.Length; i++)
            {
                int id = seq[i];
                if ((uint)id >= (uint)c.VocabSize) throw new ArgumentException($"token id {id} in sequence {s} is outside the vocabulary [0, {c.VocabSize})");
                var row = batch.Row(start + i);
                word.AddTo(id, pos.AsSpan(batch.Origin[start + i] * d, d), row);
                if (type.Length > 0) TensorPrimitives.Add(row, type.AsSpan(0, d), row);
            }
        }
        LayerNorm.Apply(Compute, batch.HiddenArray, batch.Count, d, _embeddings.NormGamma, _embeddings.NormBeta, c.LayerNormEps);
    }

    /// <summary>
    /// Pools each sequence as the model's <see cref="BertConfig.Pooling"/> says and L2-normalises if the model asks
    /// for it. Rows that stand for several tokens (merged, fused) count with their size in the means; frozen states
    /// of dropped tokens join the plain mean only (the plan is checked for that when it is validated).
    /// </summary>
    private float[][] Pool(TokenBatch b, FrozenStates? frozen)
    {
        int d = b.Dim;
        var result = new float[b.Sequences][];
        for (int s = 0; s < b.Sequences; s++)
        {
            var v = new float[d];
            int start = b.SeqStarts[s], end = b.SeqStarts[s + 1];
            switch (Config.Pooling)
            {
                case PoolingMode.Cls:
                    b.Row(start).CopyTo(v);
                    break;
                case PoolingMode.LastToken:
                    b.Row(end - 1).CopyTo(v);
                    break;
                case PoolingMode.Max:
                    b.Row(start).CopyTo(v);
                    for (int t = start + 1; t < end; t++) TensorPrimitives.Max(v, b.Row(t), v);
                    break;
                case PoolingMode.WeightedMean:
                    {
                        // A merged row stands at its representative's position (Origin); fused rows (Origin −1) are refused by the plan check.
                        float total = 0;
                        for (int t = start; t < end; t++)
                        {
                            float w = b.Size[t] * (b.Origin[t] + 1);
                            TensorPrimitives.MultiplyAdd(b.Row(t), w, v, v);
                            total += w;
                        }
                        TensorPrimitives.Divide(v, total, v);
                        break;
                    }
                default:
                    {
                        float total = 0;
                        for (int t = start; t < end; t++)
                        {
                            TensorPrimitives.MultiplyAdd(b.Row(t), b.Size[t], v, v);
                            total += b.Size[t];
                        }
                        if (frozen != null)
                        {
                            TensorPrimitives.Add(v, frozen.Sums.AsSpan(s * d, d), v);
                            total += frozen.Sizes[s];
                        }
                        TensorPrimitives.Divide(v, total, v);
                        break;
                    }
            }
            if (Config.Normalize)
            {
                float norm = Reductions.Norm(v);
                if (norm > 0) TensorPrimitives.Divide(v, norm, v);
            }
            result[s] = v;
        }
        return result;
    }

    private sealed record Embeddings(BertConfig Config, WordEmbeddingTable Word, float[] Position, float[] TokenType, float[] NormGamma, float[] NormBeta);
}
