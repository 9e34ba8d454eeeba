using RepShift.Compression;
using RepShift.Tokens;

namespace RepShift.Tests;

/// <summary>Fuse and merge on a batch small enough to work out by hand: the exact rows, sizes and origins they leave.</summary>
public class ReducerArithmeticTests
{
    /// <summary>One sequence [CLS] a b c d [SEP] in two dimensions; [CLS] and [SEP] are protected.</summary>
    private static TokenBatch Batch(float[][] rows, float[] scores, float[]? sizes = null)
    {
        var batch = new TokenBatch(2);
        batch.Reset([[2, 10, 11, 12, 13, 3]]);
        for (int i = 0; i < rows.Length; i++)
        {
            rows[i].CopyTo(batch.Row(i));
            batch.Score[i] = scores[i];
            batch.Size[i] = sizes?[i] ?? 1f;
        }
        return batch;
    }

    private static void Reduce(TokenBatch batch, CompressionPlan plan) => Reducer.Reduce(batch, plan, plan.ParsedMetric, null);

    [Fact]
    public void FuseKeepsTheTopHalfAndAddsTheScoreWeightedMeanOfTheRestBeforeSep()
    {
        float[][] rows = [[9, 9], [5, 5], [1, 0], [7, 7], [0, 3], [8, 8]];
        // Scores of a, b, c, d: 4, 1, 3, 2 → keep a and c; b (score 1) and d (score 2) fuse.
        var batch = Batch(rows, [0, 4, 1, 3, 2, 0]);
        Reduce(batch, new CompressionPlan { Metric = "norm", PruneAt = [0], Keep = 0.5, Mode = ReduceMode.Fuse });

        // Fused row = (1·(1, 0) + 2·(0, 3)) / (1 + 2) = (1/3, 2), standing for 2 tokens.
        Assert.Equal(5, batch.Count);
        Assert.Equal([0, 1, 3, -1, 5], batch.Origin.ToArray());
        Assert.Equal([1f, 1f, 1f, 2f, 1f], batch.Size.ToArray());
        Assert.Equal([9f, 9f, 5f, 5f, 7f, 7f], batch.Hidden[..6].ToArray());
        Assert.Equal(1f / 3f, batch.Row(3)[0], 6);
        Assert.Equal(2f, batch.Row(3)[1], 6);
        Assert.Equal([8f, 8f], batch.Row(4).ToArray());
        Assert.Equal(-1, batch.TokenId[3]);
        Assert.False(batch.Protected[3]);
    }

    [Fact]
    public void FuseWeighsBySizeTimesScore()
    {
        // b already stands for 3 tokens: weights 3·1 and 1·2 → ((3·(1, 0) + 2·(0, 3)) / 5 = (0.6, 1.2), size 4.
        var batch = Batch([[9, 9], [5, 5], [1, 0], [7, 7], [0, 3], [8, 8]], [0, 4, 1, 3, 2, 0], [1, 1, 3, 1, 1, 1]);
        Reduce(batch, new CompressionPlan { Metric = "norm", PruneAt = [0], Keep = 0.5, Mode = ReduceMode.Fuse });
        Assert.Equal(0.6f, batch.Row(3)[0], 6);
        Assert.Equal(1.2f, batch.Row(3)[1], 6);
        Assert.Equal(4f, batch.Size[3]);
    }

    [Fact]
    public void MergeAveragesEachMatchedPairIntoItsBTokenBySize()
    {
        // Bipartite sets by position: A = {a, c}, B = {b, d}. a ∥ b and c ∥ d (cosine 1), a ⊥ d, c ⊥ b.
        float[][] rows = [[9, 9], [1, 0], [2, 0], [0, 1], [0, 3], [8, 8]];
        var batch = Batch(rows, [0, 4, 3, 2, 1, 0], [1, 1, 1, 2, 1, 1]);
        Reduce(batch, new CompressionPlan { Metric = "norm", PruneAt = [0], Keep = 0.5, Mode = ReduceMode.Merge });

        // Keep 2 of 4 → r = 2: a into b = (1·(1, 0) + 1·(2, 0)) / 2 = (1.5, 0), size 2;
        // c (size 2) into d = (2·(0, 1) + 1·(0, 3)) / 3 = (0, 5/3), size 3.
        Assert.Equal(4, batch.Count);
        Assert.Equal([0, 2, 4, 5], batch.Origin.ToArray());
        Assert.Equal([1f, 2f, 3f, 1f], batch.Size.ToArray());
        Assert.Equal([1.5f, 0f], batch.Row(1).ToArray());
        Assert.Equal(0f, batch.Row(2)[0]);
        Assert.Equal(5f / 3f, batch.Row(2)[1], 6);
        Assert.Equal([2, -1, -1, 3], batch.TokenId.ToArray());
    }

    [Fact]
    public void MergeTakesTheMostSimilarPairsFirstAndBreaksTiesByPosition()
    {
        // Keep 3 of 4 → r = 1. Both edges have cosine 1, so the earlier A token (a) merges; c stays.
        float[][] rows = [[9, 9], [1, 0], [2, 0], [0, 1], [0, 3], [8, 8]];
        var batch = Batch(rows, [0, 4, 3, 2, 1, 0]);
        Reduce(batch, new CompressionPlan { Metric = "norm", PruneAt = [0], Keep = 0.75, Mode = ReduceMode.Merge });
        Assert.Equal([0, 2, 3, 4, 5], batch.Origin.ToArray());
        Assert.Equal([1.5f, 0f], batch.Row(1).ToArray());
        Assert.Equal([0f, 1f], batch.Row(2).ToArray());
        Assert.Equal([1f, 2f, 1f, 1f, 1f], batch.Size.ToArray());

        // Now c is closer to b than a is: a = (1, 1) has cosine 0.707 with b, c = (3, 0.1) 0.9994.
        batch = Batch([[9, 9], [1, 1], [2, 0], [3, 0.1f], [0, 3], [8, 8]], [0, 4, 3, 2, 1, 0]);
        Reduce(batch, new CompressionPlan { Metric = "norm", PruneAt = [0], Keep = 0.75, Mode = ReduceMode.Merge });
        Assert.Equal([0, 1, 2, 4, 5], batch.Origin.ToArray());
        Assert.Equal(2.5f, batch.Row(2)[0], 6);
        Assert.Equal(0.05f, batch.Row(2)[1], 6);
    }
}
