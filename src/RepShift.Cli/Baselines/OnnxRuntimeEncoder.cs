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
        using var options = Options(intraOpThreads);
        _session = new InferenceSession(model, options);
        _hasTokenTypes = _session.InputMetadata.ContainsKey("token_type_ids");
    }

    private static SessionOptions Options(int intraOpThreads) => new()
    {
        IntraOpNumThreads = intraOpThreads,
        InterOpNumThreads = 1,
        GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
    };

    /// <summary>
    /// The node types of <paramref name="model"/> after ONNX Runtime's graph optimizer (the level this class runs
    /// at), with their counts: saved by the session (<c>OptimizedModelFilePath</c>) and read back, so fusions such
    /// as MatMulInteger + Cast + Mul → MatMulIntegerToFloat can be checked rather than assumed.
    /// </summary>
    public static IReadOnlyDictionary<string, int> OptimizedNodeTypes(byte[] model)
    {
        string path = Path.Combine(Path.GetTempPath(), $"repshift-optimized-{Guid.NewGuid():N}.onnx");
        try
        {
            using (var options = Options(1))
            {
                options.OptimizedModelFilePath = path;
                // Saving at the ALL level draws a warning that the file is machine-specific: it is read back here only.
                options.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR;
                using var session = new InferenceSession(model, options);
            }
            var optimized = Loading.Onnx.Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
            return optimized.Graph.Node.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
        }
        finally { File.Delete(path); }
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

    /// <summary>
    /// Embeds <paramref name="ids"/> the way sentence-transformers' <c>encode()</c> does: sorted by length (longest
    /// first, so batches hold texts of similar length and carry little padding), cut into batches of
    /// <paramref name="batchSize"/>, and the embeddings put back in input order.
    /// </summary>
    public float[][] EmbedSorted(IReadOnlyList<int[]> ids, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var order = LengthOrder(ids);
        var result = new float[ids.Count][];
        for (int from = 0; from < order.Length; from += batchSize)
        {
            var slice = order.AsSpan(from, Math.Min(batchSize, order.Length - from)).ToArray();
            var embedded = Embed([.. slice.Select(i => ids[i])]);
            for (int j = 0; j < slice.Length; j++) result[slice[j]] = embedded[j];
        }
        return result;
    }

    /// <summary>Indices of <paramref name="ids"/> by token count, longest first; ties keep input order (a stable sort).</summary>
    public static int[] LengthOrder(IReadOnlyList<int[]> ids) => [.. Enumerable.Range(0, ids.Count).OrderByDescending(i => ids[i].Length)];

    public void Dispose() => _session.Dispose();
}
