using System.Numerics.Tensors;
using RepShift.Kernels;
using RepShift.Tokens;

namespace RepShift.Compression;

/// <summary>
/// Dropped tokens' states, kept per sequence for frozen pooling: a token removed after layer l still
/// adds its layer-l state (times its size) to its sequence's final mean.
/// </summary>
internal sealed class FrozenStates(int dim)
{
    public float[] Sums = [];
    public float[] Sizes = [];

    public void Reset(int sequences)
    {
        if (Sums.Length < sequences * dim) Sums = new float[sequences * dim];
        if (Sizes.Length < sequences) Sizes = new float[sequences];
        Sums.AsSpan(0, sequences * dim).Clear();
        Sizes.AsSpan(0, sequences).Clear();
    }
}

/// <summary>
/// Applies one reduction to a scored <see cref="TokenBatch"/>: per sequence, drop, fuse or merge the
/// unprotected tokens, then compact the batch in place (rows only move towards the front, so no row is
/// overwritten before it is read). Each sequence keeps its own count; [CLS] and [SEP] always survive.
/// </summary>
internal static class Reducer
{
    public static void Reduce(TokenBatch batch, CompressionPlan plan, ScoreMetric metric, FrozenStates? frozen)
    {
        int dim = batch.Dim, sequences = batch.Sequences;
        var starts = batch.SeqStarts.ToArray();
        var fused = new float[dim];
        int write = 0;
        for (int s = 0; s < sequences; s++)
        {
            int start = starts[s], n = starts[s + 1] - start;
            if (n == 0 || n < plan.MinLength)
            {
                for (int i = 0; i < n; i++) batch.MoveRow(start + i, write + i);
                write += n;
                batch.SetEnd(s, write);
                continue;
            }
            var keep = Select(batch, start, n, plan, metric, frozen, s, fused, out float fusedSize);
            foreach (int i in keep) batch.MoveRow(start + i, write++);
            if (fusedSize > 0) WriteFused(batch, ref write, fused, fusedSize);
            batch.SetEnd(s, write);
        }
    }

    private static void WriteFused(TokenBatch batch, ref int write, float[] fused, float size)
    {
        // The fused token goes before [SEP] so [SEP] stays last; order carries no meaning past the embeddings.
        int sep = write - 1;
        batch.MoveRow(sep, write);
        fused.CopyTo(batch.Row(sep));
        batch.Origin[sep] = -1;
        batch.TokenId[sep] = -1;
        batch.Protected[sep] = false;
        batch.Size[sep] = size;
        write++;
    }

    /// <summary>Chooses the rows (relative to <paramref name="start"/>, ascending) that survive; merges and fuses states as a side effect.</summary>
    private static List<int> Select(TokenBatch batch, int start, int n, CompressionPlan plan, ScoreMetric metric, FrozenStates? frozen, int seq, float[] fused, out float fusedSize)
    {
        fusedSize = 0;
        var score = batch.Score.Slice(start, n);
        var candidates = new List<int>(n);
        for (int i = 0; i < n; i++)
            if (!batch.Protected[start + i]) candidates.Add(i);
        // Most important first; ties broken by position so the choice is deterministic.
        var key = new float[n];
        for (int i = 0; i < n; i++) key[i] = metric.Inverted ? -score[i] : score[i];
        candidates.Sort((a, b) => key[a] != key[b] ? key[b].CompareTo(key[a]) : a.CompareTo(b));

        if (plan.Mode is ReduceMode.Merge or ReduceMode.MergeProtect) return Merge(batch, start, n, candidates, plan);

        int keepCount = plan.Mass is double mass ? MassCount(score, candidates, mass) : plan.KeepCount(candidates.Count);
        var keepSet = new bool[n];
        for (int i = 0; i < n; i++) keepSet[i] = batch.Protected[start + i];
        for (int j = 0; j < keepCount && j < candidates.Count; j++) keepSet[candidates[j]] = true;

        var dropped = candidates.Skip(keepCount).ToList();
        if (dropped.Count > 0 && plan.Mode == ReduceMode.Fuse)
        {
            // EViT: score-weighted mean of the dropped tokens (size-weighted when scores carry no magnitude).
            bool byScore = !metric.Inverted && metric.Kind != ScoreKind.Random;
            Array.Clear(fused);
            float total = 0, size = 0;
            foreach (int i in dropped)
            {
                float w = batch.Size[start + i] * (byScore ? Math.Max(score[i], 1e-12f) : 1f);
                TensorPrimitives.MultiplyAdd(batch.Row(start + i), w, fused, fused);
                total += w;
                size += batch.Size[start + i];
            }
            TensorPrimitives.Divide(fused, total, fused);
            fusedSize = size;
        }
        else if (dropped.Count > 0 && frozen != null)
        {
            var sum = frozen.Sums.AsSpan(seq * batch.Dim, batch.Dim);
            foreach (int i in dropped)
            {
                TensorPrimitives.MultiplyAdd(batch.Row(start + i), batch.Size[start + i], sum, sum);
                frozen.Sizes[seq] += batch.Size[start + i];
            }
        }
        var keep = new List<int>(n);
        for (int i = 0; i < n; i++)
            if (keepSet[i]) keep.Add(i);
        return keep;
    }

    /// <summary>Smallest number of top candidates whose scores add up to a share <paramref name="mass"/> of the total.</summary>
    private static int MassCount(ReadOnlySpan<float> score, List<int> ranked, double mass)
    {
        double total = 0;
        foreach (int i in ranked) total += Math.Max(0, score[i]);
        if (total <= 0) return ranked.Count;
        double acc = 0;
        for (int j = 0; j < ranked.Count; j++)
        {
            acc += Math.Max(0, score[ranked[j]]);
            if (acc >= mass * total - 1e-12) return j + 1;
        }
        return ranked.Count;
    }

    /// <summary>
    /// ToMe bipartite soft matching on the candidates: alternate them into sets A and B, pair each a with
    /// its most similar b (cosine of states), and merge the r most similar pairs into their b as
    /// size-weighted means. With <see cref="ReduceMode.MergeProtect"/> the top-scoring half of the
    /// candidates is kept out of the matching.
    /// </summary>
    private static List<int> Merge(TokenBatch batch, int start, int n, List<int> ranked, CompressionPlan plan)
    {
        int r = ranked.Count - plan.KeepCount(ranked.Count);
        var pool = plan.Mode == ReduceMode.MergeProtect ? ranked.Skip(ranked.Count / 2).ToList() : [.. ranked];
        pool.Sort();
        var a = new List<int>();
        var b = new List<int>();
        for (int j = 0; j < pool.Count; j++) (j % 2 == 0 ? a : b).Add(pool[j]);
        r = b.Count == 0 ? 0 : Math.Min(r, a.Count);
        var removed = new bool[n];
        if (r > 0)
        {
            var edges = new List<(float Similarity, int A, int B)>(a.Count);
            foreach (int i in a)
            {
                float best = float.NegativeInfinity;
                int target = -1;
                foreach (int j in b)
                {
                    float sim = Reductions.Cosine(batch.Row(start + i), batch.Row(start + j));
                    if (sim > best) { best = sim; target = j; }
                }
                edges.Add((best, i, target));
            }
            edges.Sort((x, y) => x.Similarity != y.Similarity ? y.Similarity.CompareTo(x.Similarity) : x.A.CompareTo(y.A));
            // Accumulate size-weighted sums into each target, then divide once.
            var targets = new Dictionary<int, float>();
            for (int e = 0; e < r; e++)
            {
                var (_, i, j) = edges[e];
                var dst = batch.Row(start + j);
                if (!targets.ContainsKey(j))
                {
                    targets[j] = batch.Size[start + j];
                    TensorPrimitives.Multiply(dst, batch.Size[start + j], dst);
                }
                TensorPrimitives.MultiplyAdd(batch.Row(start + i), batch.Size[start + i], dst, dst);
                targets[j] += batch.Size[start + i];
                removed[i] = true;
            }
            foreach (var (j, size) in targets)
            {
                var dst = batch.Row(start + j);
                TensorPrimitives.Divide(dst, size, dst);
                batch.Size[start + j] = size;
                batch.TokenId[start + j] = -1;
            }
        }
        var keep = new List<int>(n - r);
        for (int i = 0; i < n; i++)
            if (!removed[i]) keep.Add(i);
        return keep;
    }
}
