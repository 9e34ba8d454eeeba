using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace RepShift.Cli.Baselines;

/// <summary>
/// The same ONNX model run by ONNX Runtime, as .NET users run it today: batches padded to their longest
/// member with an attention mask, all graph optimisations, a fixed number of intra-op threads.
/// The reference for <c>verify</c> and the baseline for <c>bench</c>.
/// </summary>
internal sealed class OnnxRuntimeEncoder : IDisposable
{
    private readonly InferenceSession _session;
    private readonly bool _hasTokenTypes;

    public OnnxRuntimeEncoder(byte[] model, int intraOpThreads)
    {
        var options = new SessionOptions
        {
            IntraOpNumThreads = intraOpThreads,
            InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        _session = new InferenceSession(model, options);
        _hasTokenTypes = _session.InputMetadata.ContainsKey("token_type_ids");
    }

    /// <summary>last_hidden_state of each sequence, [length · hidden], padding rows dropped.</summary>
    public float[][] HiddenStates(IReadOnlyList<int[]> ids)
    {
        int batch = ids.Count, length = ids.Max(s => s.Length);
        var inputIds = new DenseTensor<long>([batch, length]);
        var mask = new DenseTensor<long>([batch, length]);
        var types = new DenseTensor<long>([batch, length]);
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < ids[b].Length; t++)
            {
                inputIds[b, t] = ids[b][t];
                mask[b, t] = 1;
            }
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", inputIds),
            NamedOnnxValue.CreateFromTensor("attention_mask", mask),
        };
        if (_hasTokenTypes) inputs.Add(NamedOnnxValue.CreateFromTensor("token_type_ids", types));
        using var results = _session.Run(inputs, ["last_hidden_state"]);
        var hidden = results[0].AsTensor<float>();
        int d = hidden.Dimensions[2];
        var output = new float[batch][];
        for (int b = 0; b < batch; b++)
        {
            var seq = output[b] = new float[ids[b].Length * d];
            for (int t = 0; t < ids[b].Length; t++)
                for (int j = 0; j < d; j++) seq[t * d + j] = hidden[b, t, j];
        }
        return output;
    }

    /// <summary>
    /// Embeddings pooled as sentence-transformers pools them (<paramref name="pooling"/>: mean, CLS, max, last token or
    /// position-weighted mean over the sequence's tokens), L2-normalised when <paramref name="normalize"/> is set.
    /// Written here independently of RepShift's encoder, so <c>verify</c> checks its pooling too.
    /// </summary>
    public float[][] Embed(IReadOnlyList<int[]> ids, Models.PoolingMode pooling = Models.PoolingMode.Mean, bool normalize = true)
    {
        var hidden = HiddenStates(ids);
        var result = new float[ids.Count][];
        for (int b = 0; b < ids.Count; b++)
        {
            int n = ids[b].Length, d = hidden[b].Length / n;
            var v = new float[d];
            double weights = 0;
            for (int t = 0; t < n; t++)
            {
                var row = hidden[b].AsSpan(t * d, d);
                switch (pooling)
                {
                    case Models.PoolingMode.Cls: if (t == 0) row.CopyTo(v); break;
                    case Models.PoolingMode.LastToken: if (t == n - 1) row.CopyTo(v); break;
                    case Models.PoolingMode.Max:
                        for (int j = 0; j < d; j++) v[j] = t == 0 ? row[j] : Math.Max(v[j], row[j]);
                        break;
                    case Models.PoolingMode.WeightedMean:
                        for (int j = 0; j < d; j++) v[j] += (t + 1) * row[j];
                        weights += t + 1;
                        break;
                    default:
                        for (int j = 0; j < d; j++) v[j] += row[j];
                        weights += 1;
                        break;
                }
            }
            if (weights > 0)
                for (int j = 0; j < d; j++) v[j] = (float)(v[j] / weights);
            if (normalize)
            {
                float norm = System.Numerics.Tensors.TensorPrimitives.Norm<float>(v);
                System.Numerics.Tensors.TensorPrimitives.Divide(v, norm, v);
            }
            result[b] = v;
        }
        return result;
    }

    public void Dispose() => _session.Dispose();
}
