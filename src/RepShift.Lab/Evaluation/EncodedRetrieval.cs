using System.Numerics.Tensors;
using RepShift.Embeddings;

namespace RepShift.Evaluation;

/// <summary>
/// One way to store and search the vectors: dimensions kept, encoding, for binary whether the bits are plain signs
/// or taken through a <see cref="BinaryProjection"/> calibrated on the documents (<paramref name="Projected"/>), and
/// how many Hamming hits are re-scored (0: none), against their bits or, with <paramref name="RescoreWithFloats"/>,
/// against the documents' float vectors kept beside the bits (as vector databases keep originals on disk: 4 bytes
/// per dimension more). A projected setting with <paramref name="QueryThresholds"/> gives query bits thresholds of their
/// own, cross-fitted: each query's come from the other half of the queries, never from itself (as thresholds calibrated
/// on past queries would be).
/// </summary>
public sealed record VectorSetting(int Dimensions, EmbeddingEncoding Encoding, int Rescore = 0, bool RescoreWithFloats = false, bool Projected = false,
    bool QueryThresholds = false)
{
    /// <summary>Bytes searched per vector (float originals used only for re-scoring are not counted).</summary>
    public int BytesPerVector => Encoding.BytesPerVector(Dimensions);

    public string Name => Encoding.Name() + (Projected ? QueryThresholds ? " itq (query t)" : " itq" : "")
        + (Rescore > 0 ? $" + rescore {Rescore}{(RescoreWithFloats ? " (float docs)" : " (bits)")}" : "");

    public override string ToString() => $"{Dimensions} {Name}";
}

/// <summary>Retrieval scores of one <see cref="VectorSetting"/>.</summary>
public sealed record EncodedRetrievalRow(VectorSetting Setting, RetrievalScores Scores);

/// <summary>
/// Retrieval with shortened and encoded vectors, as a vector database would store them: the float vectors of a
/// <see cref="RetrievalReport"/> are truncated (and renormalised), then
/// <list type="bullet">
/// <item>float: ranked by dot product (the cosine);</item>
/// <item>int8: queries and documents quantized with ranges calibrated on the documents, ranked by the dot product of the dequantized vectors;</item>
/// <item>binary: ranked by Hamming distance of the packed sign bits (equal distances by the query-weighted Hamming
/// distance of <see cref="BinaryCodes.Search(ReadOnlySpan{float}, IReadOnlyList{byte[]}, int)"/>), plain or, with
/// <see cref="VectorSetting.Projected"/>, through a projection calibrated on the documents by
/// <see cref="IterativeQuantization"/> (query bits with cross-fitted query thresholds, when asked); with a rescore K, the K nearest are re-ranked by the float query's dot product
/// with their ±1 bit vectors (only the bits are stored; a projected query is projected first) or, with
/// <see cref="VectorSetting.RescoreWithFloats"/>, by the float dot product with the documents' float vectors.</item>
/// </list>
/// Exact copies of the own document (bit-identical float vectors: BBC holds duplicated bodies) count as the
/// own document, as in <see cref="RetrievalMetrics"/>.
/// </summary>
public static class EncodedRetrieval
{
    /// <summary>
    /// Scores one setting. A <see cref="VectorSetting.Projected"/> setting uses <c>projection</c> (from
    /// <see cref="CalibrateProjection"/>, to calibrate once for several settings), or calibrates one here when it is null.
    /// </summary>
    public static EncodedRetrievalRow Score(IReadOnlyList<float[]> queries, IReadOnlyList<float[]> documents, VectorSetting setting, string model,
        BinaryProjection? projection = null)
    {
        if (queries.Count != documents.Count) throw new ArgumentException($"{queries.Count} queries but {documents.Count} documents: each query needs its own document");
        if (documents.Count == 0) throw new ArgumentException("no documents");
        Matryoshka.CheckDimensions(setting.Dimensions, documents[0].Length, model);
        if (setting.Rescore < 0 || (setting.Rescore > 0 && setting.Encoding != EmbeddingEncoding.Binary) || (setting.RescoreWithFloats && setting.Rescore == 0))
            throw new ArgumentException($"re-scoring applies to the binary encoding only, with K ≥ 1 (got {setting})");
        if (setting.Projected && setting.Encoding != EmbeddingEncoding.Binary) throw new ArgumentException($"a projection applies to the binary encoding only (got {setting})");
        if (setting.QueryThresholds && !setting.Projected) throw new ArgumentException($"query thresholds belong to a projection (got {setting})");
        var groups = CopyGroups(documents);
        var q = Matryoshka.Truncate(queries, setting.Dimensions);
        var d = Matryoshka.Truncate(documents, setting.Dimensions);
        int[] ranks = setting.Encoding switch
        {
            EmbeddingEncoding.Float => DotRanks(q, d, groups),
            EmbeddingEncoding.Int8 => Int8Ranks(q, d, groups, model),
            _ => BinaryRanks(q, d, groups, setting.Rescore, setting.RescoreWithFloats,
                setting.Projected ? projection ?? CalibrateProjection(documents, setting.Dimensions, model) : null, setting.QueryThresholds),
        };
        return new EncodedRetrievalRow(setting, RetrievalMetrics.FromRanks(ranks));
    }

    /// <summary>The binary projection of <paramref name="documents"/> truncated to <paramref name="dimensions"/>, calibrated on them.</summary>
    public static BinaryProjection CalibrateProjection(IReadOnlyList<float[]> documents, int dimensions, string model, IProgress<int>? progress = null, int seed = 0) =>
        IterativeQuantization.Calibrate(model, Matryoshka.Truncate(documents, dimensions), seed: seed, progress: progress).Projection;

    /// <summary>
    /// Two copies of <paramref name="projection"/> with query thresholds: the first calibrated on the odd-numbered
    /// <paramref name="queries"/> (for the even-numbered ones), the second on the even-numbered (for the odd ones).
    /// </summary>
    internal static BinaryProjection[] CrossFitted(BinaryProjection projection, IReadOnlyList<float[]> queries)
    {
        if (queries.Count < 2) throw new ArgumentException("cross-fitted query thresholds need at least two queries");
        return [.. Enumerable.Range(0, 2).Select(fold => IterativeQuantization.WithQueryThresholds(projection, [.. queries.Where((_, i) => i % 2 != fold)]))];
    }

    /// <summary>For each document, the index of the first document with the same float vector.</summary>
    private static int[] CopyGroups(IReadOnlyList<float[]> documents)
    {
        var first = new Dictionary<float[], int>(new VectorComparer());
        var groups = new int[documents.Count];
        for (int j = 0; j < groups.Length; j++)
        {
            if (!first.TryGetValue(documents[j], out int g)) first[documents[j]] = g = j;
            groups[j] = g;
        }
        return groups;
    }

    private static int[] Int8Ranks(float[][] queries, float[][] documents, int[] groups, string model)
    {
        var ranges = Int8Ranges.Calibrate(model, documents);
        var q = queries.Select(v => ranges.Dequantize(ranges.Quantize(v))).ToArray();
        var d = documents.Select(v => ranges.Dequantize(ranges.Quantize(v))).ToArray();
        return DotRanks(q, d, groups);
    }

    /// <summary>1 + the documents (not copies of the own one) with a strictly larger dot product.</summary>
    private static int[] DotRanks(float[][] queries, float[][] documents, int[] groups)
    {
        var ranks = new int[queries.Length];
        Parallel.For(0, queries.Length, i =>
        {
            float own = TensorPrimitives.Dot(queries[i], documents[i]);
            int ahead = 0;
            for (int j = 0; j < documents.Length; j++)
                if (groups[j] != groups[i] && TensorPrimitives.Dot(queries[i], documents[j]) > own) ahead++;
            ranks[i] = ahead + 1;
        });
        return ranks;
    }

    /// <summary>The 1-based position of the first copy of the own document in the search's result list; past its end, a miss.</summary>
    private static int[] BinaryRanks(float[][] queries, float[][] documents, int[] groups, int rescore, bool withFloats, BinaryProjection? projection, bool queryThresholds)
    {
        // What the bits are the signs of: the vector itself, or its projection (which the bits re-score against too).
        Func<float[], float[]> coded = projection is null ? v => v : v => projection.Apply(v);
        var folds = queryThresholds ? CrossFitted(projection!, queries) : null;
        var codes = documents.Select(v => BinaryCodes.Pack(coded(v))).ToArray();
        var ranks = new int[queries.Length];
        Parallel.For(0, queries.Length, i =>
        {
            var projected = coded(queries[i]);
            // The vector the query's bits are the signs of (with query thresholds: shifted by them), which orders ties.
            var query = folds is null ? projected : folds[i % 2].Apply(queries[i], query: true);
            int[] hits = rescore == 0 ? BinaryCodes.Search(query, codes, codes.Length)
                : withFloats ? RescoreWithFloats(queries[i], documents, BinaryCodes.Search(query, codes, rescore))
                : BinaryCodes.Rescore(projected, codes, BinaryCodes.Search(query, codes, rescore));
            int at = Array.FindIndex(hits, j => groups[j] == groups[i]);
            ranks[i] = at < 0 ? int.MaxValue : at + 1;
        });
        return ranks;
    }

    /// <summary>The shortlist by the float dot product, best first; equal scores keep the shortlist's order.</summary>
    private static int[] RescoreWithFloats(float[] query, float[][] documents, int[] shortlist) =>
        [.. shortlist.Select((j, position) => (j, position, score: TensorPrimitives.Dot(query, documents[j])))
            .OrderByDescending(x => x.score).ThenBy(x => x.position).Select(x => x.j)];

    private sealed class VectorComparer : IEqualityComparer<float[]>
    {
        public bool Equals(float[]? x, float[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(float[] v)
        {
            var hash = new HashCode();
            hash.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()));
            return hash.ToHashCode();
        }
    }
}
