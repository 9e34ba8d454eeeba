using RepShift.Evaluation;

namespace RepShift.Tests;

public class EvaluationMetricTests
{
    [Fact]
    public void Ranks_share_the_average_rank_among_ties()
    {
        Assert.Equal([2, 3.5, 3.5, 1], RankCorrelation.Ranks([10, 20, 20, 5]));
        Assert.Equal([2, 2, 2], RankCorrelation.Ranks([7, 7, 7]));
    }

    [Fact]
    public void Spearman_with_ties_is_the_pearson_correlation_of_average_ranks()
    {
        // y ranks [1, 2, 3.5, 5, 3.5]: Σdxdy = 8, Σdx² = 10, Σdy² = 9.5, so ρ = 8/√95 ≈ 0.82078.
        // The no-ties shortcut 1 − 6Σd²/(n(n²−1)) would give 0.825 instead.
        double rho = RankCorrelation.Spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]);
        Assert.Equal(8 / Math.Sqrt(95), rho, 12);
    }

    [Fact]
    public void Spearman_is_plus_or_minus_one_for_monotone_relations()
    {
        double[] x = [0.1, -3, 2, 7, 4];
        Assert.Equal(1.0, RankCorrelation.Spearman(x, x.Select(v => v * v * v).ToArray()), 12);
        Assert.Equal(-1.0, RankCorrelation.Spearman(x, x.Select(v => -Math.Exp(v)).ToArray()), 12);
    }

    [Fact]
    public void Spearman_of_a_constant_series_is_an_error()
    {
        Assert.Throws<RepShiftException>(() => RankCorrelation.Spearman([1, 2, 3], [4, 4, 4]));
        Assert.Throws<ArgumentException>(() => RankCorrelation.Spearman([1, 2, 3], [1, 2]));
    }

    private static float[] At(double degrees, double length = 1)
    {
        double r = degrees * Math.PI / 180;
        return [(float)(length * Math.Cos(r)), (float)(length * Math.Sin(r))];
    }

    [Fact]
    public void Knn_tied_vote_goes_to_the_larger_summed_similarity()
    {
        // Item 0 at 0°: neighbours A at 10° and 50°, B at 20° and 30° → 2 votes each; B's cosines sum to 1.81, A's to 1.63.
        // The far A neighbour is long: without normalisation its dot product (6.4) would hand the tie to A.
        var vectors = new[] { At(0), At(10), At(50, 10), At(20), At(30) };
        var labels = new[] { "A", "A", "A", "B", "B" };
        Assert.Equal("B", KnnClassifier.LeaveOneOut(vectors, labels, 4)[0]);
    }

    [Fact]
    public void Knn_majority_beats_a_larger_similarity_sum()
    {
        // Item 0's neighbours: A at 0° (cosine 1), B at 80° and 85° (sum 0.26): B has the majority.
        var vectors = new[] { At(0), At(0), At(80), At(85) };
        var labels = new[] { "X", "A", "B", "B" };
        Assert.Equal("B", KnnClassifier.LeaveOneOut(vectors, labels, 3)[0]);
    }

    [Fact]
    public void Knn_equal_similarities_rank_the_lower_index_first()
    {
        // Mirror images of each other about item 0's axis: exactly the same cosine with it.
        float c = MathF.Cos(0.5f), sin = MathF.Sin(0.5f);
        var vectors = new[] { At(0), [c, sin], [c, -sin], At(170) };
        Assert.Equal("B", KnnClassifier.LeaveOneOut(vectors, ["X", "B", "C", "D"], 1)[0]);
        Assert.Equal("C", KnnClassifier.LeaveOneOut(vectors, ["X", "C", "B", "D"], 1)[0]);
    }

    [Fact]
    public void Knn_accuracy_leaves_each_item_out()
    {
        // Two tight clusters: with k = 1 every item's nearest other item shares its label, except the stray "A" among the Bs.
        var vectors = new[] { At(0), At(2), At(5), At(90), At(92), At(95) };
        var labels = new[] { "A", "A", "A", "B", "B", "A" };
        Assert.Equal(5.0 / 6, KnnClassifier.LeaveOneOutAccuracy(vectors, labels, 1), 12);
        Assert.Throws<RepShiftException>(() => KnnClassifier.LeaveOneOut(vectors, labels, 6));
        Assert.Throws<RepShiftException>(() => KnnClassifier.LeaveOneOut(vectors, labels, 0));
    }

    [Fact]
    public void Retrieval_ranks_count_more_similar_documents_ahead()
    {
        // q0 at 0° finds d0 first; q1 at 90° sees d2 (10° off) before d1 (50° off); q2 at 15° sees d0 and d1 before d2.
        // d2 is short: an unnormalised dot product would drop it behind d1 for q1.
        var queries = new[] { At(0), At(90), At(15) };
        var documents = new[] { At(0, 5), At(40), At(80, 0.1) };
        Assert.Equal([1, 2, 3], RetrievalMetrics.OwnDocumentRanks(queries, documents));
        var s = RetrievalMetrics.Score(queries, documents);
        Assert.Equal(1.0 / 3, s.Recall1, 12);
        Assert.Equal(1.0, s.Recall10, 12);
        Assert.Equal((1 + 1 / 2.0 + 1 / 3.0) / 3, s.Mrr10, 12);
        Assert.Equal(3, s.Queries);
    }

    [Fact]
    public void Retrieval_ranks_all_documents_and_mrr_stops_at_ten()
    {
        // All queries at 0°, document i at i°: query i's own document has rank i + 1, up to 12.
        var queries = Enumerable.Range(0, 12).Select(_ => At(0)).ToArray();
        var documents = Enumerable.Range(0, 12).Select(i => At(i)).ToArray();
        Assert.Equal(Enumerable.Range(1, 12).ToArray(), RetrievalMetrics.OwnDocumentRanks(queries, documents));
        var s = RetrievalMetrics.Score(queries, documents);
        Assert.Equal(1.0 / 12, s.Recall1, 12);
        Assert.Equal(10.0 / 12, s.Recall10, 12);
        Assert.Equal(Enumerable.Range(1, 10).Sum(r => 1.0 / r) / 12, s.Mrr10, 12);
    }

    [Fact]
    public void Retrieval_identical_copies_do_not_push_each_other_down()
    {
        var queries = new[] { At(0), At(0), At(2) };
        var documents = new[] { At(5), At(5), At(20) };
        // Only strictly more similar documents count ahead: both copies rank first for their queries.
        Assert.Equal([1, 1, 3], RetrievalMetrics.OwnDocumentRanks(queries, documents));
    }

    [Fact]
    public void Retrieval_scores_from_ranks()
    {
        var s = RetrievalMetrics.FromRanks([1, 2, 11, 10]);
        Assert.Equal(0.25, s.Recall1, 12);
        Assert.Equal(0.75, s.Recall10, 12);
        Assert.Equal((1 + 0.5 + 0.1) / 4, s.Mrr10, 12);
    }

    [Fact]
    public void Sts_embeds_each_distinct_sentence_once_and_scores_pairs_by_cosine()
    {
        var pairs = new[]
        {
            new ScoredPair("a", "b", 5),
            new ScoredPair("b", "c", 1),
            new ScoredPair("a", "c", 3),
            new ScoredPair("a", "b", 4),
        };
        var evaluation = new StsEvaluation(pairs);
        Assert.Equal(["a", "b", "c"], evaluation.Sentences);
        // Cosines: a·b = cos 10° (0.98), b·c = cos 80° (0.17), a·c = cos 90° (0), a·b again; scores 5, 1, 3, 4.
        // Cosine ranks [3.5, 2, 1, 3.5] against score ranks [4, 1, 2, 3]: ρ = 3.5 / √(4.5 · 5) ≈ 0.738.
        double rho = evaluation.Score([At(0), At(10), At(90)]);
        Assert.Equal(3.5 / Math.Sqrt(4.5 * 5), rho, 6);
    }
}
