using RepShift.Embeddings;
using RepShift.Evaluation;

namespace RepShift.Tests;

/// <summary>Retrieval with shortened and encoded vectors against the float metric and a plain Hamming ranking.</summary>
public class EncodedRetrievalTests
{
    /// <summary>
    /// Plain reference of the Hamming ranking: every code by its distance from the signs of <paramref name="y"/>, equal
    /// distances by Σ |y[d]| over the differing bits (in double), then by index.
    /// </summary>
    private static List<int> HammingOrder(float[] y, IReadOnlyList<byte[]> codes)
    {
        int[] Differing(byte[] code)
        {
            var signs = BinaryCodes.Unpack(code, y.Length);
            return [.. Enumerable.Range(0, y.Length).Where(d => (y[d] > 0) != (signs[d] > 0))];
        }
        var differing = codes.Select(Differing).ToArray();
        return [.. Enumerable.Range(0, codes.Count)
            .OrderBy(j => differing[j].Length)
            .ThenBy(j => differing[j].Sum(d => Math.Abs((double)y[d])))
            .ThenBy(j => j)];
    }

    private static float[][] Vectors(Random random, int count, int dim) =>
        [.. Enumerable.Range(0, count).Select(_ => Matryoshka.Truncate(Enumerable.Range(0, dim).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(), dim))];

    [Fact]
    public void FloatAtFullDimensionsEqualsTheRetrievalMetric()
    {
        var random = new Random(11);
        var documents = Vectors(random, 60, 32);
        // Each query is its document plus noise, so ranks spread over 1..many.
        var queries = documents.Select(d => Matryoshka.Truncate(d.Select(x => x + (float)(random.NextDouble() - 0.5)).ToArray(), 32)).ToArray();
        var row = EncodedRetrieval.Score(queries, documents, new VectorSetting(32, EmbeddingEncoding.Float), "m");
        Assert.Equal(RetrievalMetrics.Score(queries, documents), row.Scores);
        Assert.Equal(RetrievalMetrics.Score(Matryoshka.Truncate(queries, 8), Matryoshka.Truncate(documents, 8)),
            EncodedRetrieval.Score(queries, documents, new VectorSetting(8, EmbeddingEncoding.Float), "m").Scores);
    }

    [Fact]
    public void BinaryRanksAreHammingPositionsAndCopiesCountAsTheOwnDocument()
    {
        var random = new Random(12);
        var documents = Vectors(random, 40, 16);
        documents[5] = documents[3]; // document 5 is a copy of 3: either one found is the article
        var queries = documents.Select(d => Matryoshka.Truncate(d.Select(x => x + (float)(random.NextDouble() - 0.5)).ToArray(), 16)).ToArray();
        var codes = documents.Select(d => BinaryCodes.Pack(d)).ToList();
        var ranks = new int[queries.Length];
        for (int i = 0; i < queries.Length; i++)
        {
            // The first entry of the reference ranking that is the own document or its copy.
            var order = HammingOrder(queries[i], codes);
            ranks[i] = 1 + order.FindIndex(j => j == i || (i is 3 or 5 && j is 3 or 5));
        }
        Assert.Equal(RetrievalMetrics.FromRanks(ranks), EncodedRetrieval.Score(queries, documents, new VectorSetting(16, EmbeddingEncoding.Binary), "m").Scores);

        // Re-scoring the whole corpus against float documents is the float ranking.
        var all = EncodedRetrieval.Score(queries, documents, new VectorSetting(16, EmbeddingEncoding.Binary, documents.Length, RescoreWithFloats: true), "m");
        Assert.Equal(EncodedRetrieval.Score(queries, documents, new VectorSetting(16, EmbeddingEncoding.Float), "m").Scores, all.Scores);
        Assert.Throws<ArgumentException>(() => EncodedRetrieval.Score(queries, documents, new VectorSetting(16, EmbeddingEncoding.Int8, 10), "m"));
    }

    [Fact]
    public void ProjectedBinaryUsesTheProjectionsBitsAndReScoresInItsSpace()
    {
        var random = new Random(13);
        var documents = Vectors(random, 50, 16);
        var queries = documents.Select(d => Matryoshka.Truncate(d.Select(x => x + (float)(random.NextDouble() - 0.5)).ToArray(), 16)).ToArray();
        // Through the identity projection every row is the plain one.
        var identity = BinaryProjection.Identity("m", 16);
        foreach (var (k, floats) in new[] { (0, false), (10, false), (10, true) })
            Assert.Equal(EncodedRetrieval.Score(queries, documents, new VectorSetting(16, EmbeddingEncoding.Binary, k, floats), "m").Scores,
                EncodedRetrieval.Score(queries, documents, new VectorSetting(16, EmbeddingEncoding.Binary, k, floats, Projected: true), "m", identity).Scores);

        // Through a calibrated one: the Hamming ranks of its codes (plain reference), and re-scoring everything against
        // float documents is still the float ranking.
        var projection = IterativeQuantization.Calibrate("m", documents, iterations: 10).Projection;
        var codes = documents.Select(d => projection.Pack(d)).ToList();
        var ranks = queries.Select((q, i) => 1 + HammingOrder(projection.Apply(q), codes).IndexOf(i)).ToArray();
        Assert.Equal(RetrievalMetrics.FromRanks(ranks),
            EncodedRetrieval.Score(queries, documents, new VectorSetting(16, EmbeddingEncoding.Binary, Projected: true), "m", projection).Scores);
        Assert.Equal(EncodedRetrieval.Score(queries, documents, new VectorSetting(16, EmbeddingEncoding.Float), "m").Scores,
            EncodedRetrieval.Score(queries, documents, new VectorSetting(16, EmbeddingEncoding.Binary, documents.Length, RescoreWithFloats: true, Projected: true), "m", projection).Scores);
        Assert.Throws<ArgumentException>(() => EncodedRetrieval.Score(queries, documents, new VectorSetting(16, EmbeddingEncoding.Int8, Projected: true), "m"));
    }

    [Fact]
    public void QueryThresholdsAreCrossFittedSoNoQueryIsCodedWithItsOwn()
    {
        var random = new Random(14);
        var documents = Vectors(random, 60, 12);
        // Shifted queries: their own medians differ from the documents'.
        var queries = documents.Select(d => Matryoshka.Truncate(d.Select(x => x + 0.3f + 0.5f * (float)(random.NextDouble() - 0.5)).ToArray(), 12)).ToArray();
        var projection = IterativeQuantization.Calibrate("m", documents, iterations: 10).Projection;

        // Reference: query i's thresholds are the medians (in double) of the rotated queries of the other parity.
        double[] Medians(int parity) => [.. Enumerable.Range(0, 12).Select(d =>
        {
            var values = queries.Where((_, i) => i % 2 == parity).Select(q => Enumerable.Range(0, 12).Sum(k => (double)projection.Row(d)[k] * q[k])).Order().ToArray();
            return (values[values.Length / 2 - 1] + values[values.Length / 2]) / 2; // 30 queries per parity: the mean of the middle two
        })];
        var thresholds = new[] { Medians(1), Medians(0) };
        var folds = EncodedRetrieval.CrossFitted(projection, queries);
        for (int f = 0; f < 2; f++)
            for (int d = 0; d < 12; d++) Assert.Equal(thresholds[f][d], folds[f].QueryThresholds![d], 1e-5);

        var codes = documents.Select(d => projection.Pack(d)).ToList();
        var ranks = queries.Select((q, i) =>
        {
            var y = Enumerable.Range(0, 12).Select(d => Enumerable.Range(0, 12).Sum(k => (double)projection.Row(d)[k] * q[k]) - thresholds[i % 2][d]).Select(x => (float)x).ToArray();
            return 1 + HammingOrder(y, codes).IndexOf(i);
        }).ToArray();
        var setting = new VectorSetting(12, EmbeddingEncoding.Binary, Projected: true, QueryThresholds: true);
        Assert.Equal("binary itq (query t)", setting.Name);
        Assert.Equal(RetrievalMetrics.FromRanks(ranks), EncodedRetrieval.Score(queries, documents, setting, "m", projection).Scores);
        // Thresholds from all the queries (each query's own among them) rank differently here, so the test tells the two apart.
        var all = IterativeQuantization.WithQueryThresholds(projection, queries);
        var leaky = queries.Select((q, i) => 1 + HammingOrder(all.Apply(q, query: true), codes).IndexOf(i)).ToArray();
        Assert.NotEqual(ranks, leaky);
        Assert.Throws<ArgumentException>(() => EncodedRetrieval.Score(queries, documents, new VectorSetting(12, EmbeddingEncoding.Binary, QueryThresholds: true), "m"));
    }
}
