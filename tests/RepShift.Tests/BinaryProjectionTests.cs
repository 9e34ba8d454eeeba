using RepShift.Embeddings;
using RepShift.Evaluation;

namespace RepShift.Tests;

/// <summary>The calibrated binary projection against plain references, and its calibration by iterative quantization.</summary>
public class BinaryProjectionTests
{
    private static float[] Gaussian(Random random, int dim) =>
        [.. Enumerable.Range(0, dim).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())))];

    /// <summary>A random orthogonal matrix by Gram–Schmidt in double (the reference does not share the code under test).</summary>
    private static float[][] RandomRotation(Random random, int dim)
    {
        var rows = new List<double[]>();
        while (rows.Count < dim)
        {
            var v = Gaussian(random, dim).Select(x => (double)x).ToArray();
            foreach (var r in rows)
            {
                double dot = v.Zip(r, (a, b) => a * b).Sum();
                for (int k = 0; k < dim; k++) v[k] -= dot * r[k];
            }
            double norm = Math.Sqrt(v.Sum(x => x * x));
            rows.Add([.. v.Select(x => x / norm)]);
        }
        return [.. rows.Select(r => r.Select(x => (float)x).ToArray())];
    }

    [Fact]
    public void BitsAreTheSignsOfTheRotatedVectorAboveEachThreshold()
    {
        var random = new Random(21);
        const int dim = 13;
        var rotation = RandomRotation(random, dim);
        var thresholds = Gaussian(random, dim).Select(x => 0.1f * x).ToArray();
        var projection = new BinaryProjection("m", rotation, thresholds, 7);
        for (int t = 0; t < 50; t++)
        {
            var x = Gaussian(random, dim);
            // Plain reference in double: bit d of the MSB-first layout is set when (R·x)[d] > t[d].
            var expected = new byte[2];
            for (int d = 0; d < dim; d++)
            {
                double y = Enumerable.Range(0, dim).Sum(k => (double)rotation[d][k] * x[k]);
                Assert.Equal(y - thresholds[d], projection.Apply(x)[d], 1e-5);
                if (y > thresholds[d] + 1e-5) expected[d / 8] |= (byte)(0x80 >> (d % 8));
                else if (y > thresholds[d] - 1e-5) expected[d / 8] |= (byte)(projection.Pack(x)[d / 8] & (0x80 >> (d % 8))); // a float32 tie may go either way
            }
            Assert.Equal(expected, projection.Pack(x));
        }
        // The identity projection is the plain sign bits.
        var v = Gaussian(random, dim);
        Assert.Equal(BinaryCodes.Pack(v), BinaryProjection.Identity("m", dim).Pack(v));
    }

    [Fact]
    public void ProjectionFileRoundTripsAndIsRefusedForAnotherModelDimensionOrABrokenRotation()
    {
        var random = new Random(22);
        var projection = new BinaryProjection("all-MiniLM-L6-v2", RandomRotation(random, 6), [0.5f, -0.25f, 0, 0, 1, 2], 12);
        using var dir = new TempDirectory();
        projection.Save(dir.File("p.json"));
        var loaded = BinaryProjection.Load(dir.File("p.json"));
        Assert.Equal(projection.Thresholds, loaded.Thresholds);
        for (int d = 0; d < 6; d++) Assert.Equal(projection.Row(d).ToArray(), loaded.Row(d).ToArray());
        Assert.Equal(("all-MiniLM-L6-v2", 6, 12), (loaded.Model, loaded.Dimension, loaded.Texts));
        Assert.Contains("\"format\":\"repshift-binary-projection\"", File.ReadAllText(dir.File("p.json")));

        var other = Assert.Throws<OptionException>(() => new VectorFormat("arctic-embed-xs", 384, 6, EmbeddingEncoding.Binary, projection: loaded));
        Assert.Contains("was calibrated for all-MiniLM-L6-v2, not arctic-embed-xs", other.Message);
        var dims = Assert.Throws<OptionException>(() => new VectorFormat("all-MiniLM-L6-v2", 384, 8, EmbeddingEncoding.Binary, projection: loaded));
        Assert.Contains("was calibrated at 6 dimensions, not 8", dims.Message);
        var format = new VectorFormat("all-MiniLM-L6-v2", 384, 6, EmbeddingEncoding.Binary, projection: loaded);
        var vector = Gaussian(random, 384);
        Assert.Equal(loaded.Pack(Matryoshka.Truncate(vector, 6)), format.ToBinary(vector));
        Assert.Equal(BinaryCodes.Pack(Matryoshka.Truncate(vector, 6)), new VectorFormat("all-MiniLM-L6-v2", 384, 6, EmbeddingEncoding.Binary).ToBinary(vector));

        // A rotation that is not orthogonal (say, a hand-edited file) gives wrong neighbours: refused.
        string json = projection.ToJson();
        var skewed = RandomRotation(random, 6);
        skewed[2][3] += 0.01f;
        Assert.Contains("not orthogonal", Assert.Throws<ArgumentException>(() => new BinaryProjection("m", skewed, new float[6], 1)).Message);
        File.WriteAllText(dir.File("short.json"), json.Replace("\"dimension\":6", "\"dimension\":5"));
        Assert.Contains("\"dimension\" is 5 but \"rotation\" has 6 rows", Assert.Throws<RepShiftException>(() => BinaryProjection.Load(dir.File("short.json"))).Message);
        File.WriteAllText(dir.File("ranges.json"), Int8Ranges.Calibrate("m", [[1f, 2f]]).ToJson());
        Assert.Contains("not a binary projection file", Assert.Throws<RepShiftException>(() => BinaryProjection.Load(dir.File("ranges.json"))).Message);
    }

    [Fact]
    public void CalibrationLowersTheQuantizationErrorAndSplitsEveryBitAtTheMedian()
    {
        var random = new Random(23);
        const int dim = 24, n = 301;
        // Anisotropic, off-centre data: plain sign bits of such vectors are unbalanced.
        var scales = Enumerable.Range(0, dim).Select(d => 0.2f + d / 8f).ToArray();
        var vectors = Enumerable.Range(0, n).Select(_ => Gaussian(random, dim).Select((x, d) => scales[d] * x + 0.3f).ToArray()).ToList();
        var result = IterativeQuantization.Calibrate("m", vectors, iterations: 30, seed: 4);
        Assert.Equal(31, result.Errors.Count);
        // Each half-step minimises the error over one argument, so it never rises (up to rounding), and it falls overall.
        for (int i = 1; i < result.Errors.Count; i++) Assert.True(result.Errors[i] <= result.Errors[i - 1] * (1 + 1e-9), $"step {i}: {result.Errors[i - 1]} → {result.Errors[i]}");
        Assert.True(result.Errors[^1] < 0.95 * result.Errors[0], $"{result.Errors[0]} → {result.Errors[^1]}");

        var p = result.Projection;
        for (int a = 0; a < dim; a++)
            for (int b = 0; b < dim; b++)
            {
                double dot = Enumerable.Range(0, dim).Sum(k => (double)p.Row(a)[k] * p.Row(b)[k]);
                Assert.Equal(a == b ? 1 : 0, dot, 1e-5);
            }
        // n is odd: the median is one of the values, and exactly (n − 1) / 2 lie strictly above it.
        var codes = vectors.Select(v => p.Pack(v)).ToList();
        for (int d = 0; d < dim; d++) Assert.Equal((n - 1) / 2, codes.Count(c => (c[d / 8] & (0x80 >> (d % 8))) != 0));
        // The same vectors and seed give the same projection.
        var again = IterativeQuantization.Calibrate("m", vectors, iterations: 30, seed: 4).Projection;
        Assert.Equal(p.Thresholds, again.Thresholds);
        Assert.Equal(p.Row(5).ToArray(), again.Row(5).ToArray());
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public void CalibrationRecoversTheCodesOfARotatedHypercube(int dim)
    {
        // Points near the corners of a cube turned by an unknown rotation: plain sign bits mix the corners up, and
        // the learned projection must find bits whose Hamming distances are the corners' own. (ITQ is a local
        // method: on an 8-dimensional cube this seed stops in a local minimum, so the test stays at small cubes.)
        var random = new Random(24);
        var turn = RandomRotation(random, dim);
        // Every corner twice: each coordinate is +1 for exactly half the points, so the median falls between the two.
        var corners = Enumerable.Range(0, 1 << dim).Select(c => Enumerable.Range(0, dim).Select(k => (c >> k & 1) == 1 ? 1f : -1f).ToArray()).ToArray();
        var labels = Enumerable.Range(0, 2 * corners.Length).Select(i => i % corners.Length).ToArray();
        var vectors = labels.Select(c => turn.Select(row => row.Select((x, k) => x * (corners[c][k] + 0.1f * Gaussian(random, 1)[0])).Sum()).ToArray()).ToList();
        var projection = IterativeQuantization.Calibrate("m", vectors).Projection;
        var codes = vectors.Select(v => projection.Pack(v)).ToArray();
        var plain = vectors.Select(v => BinaryCodes.Pack(v)).ToArray();
        int CornerDistance(int a, int b) => corners[labels[a]].Zip(corners[labels[b]], (x, y) => x != y ? 1 : 0).Sum();
        int wrong = 0, wrongPlain = 0;
        for (int a = 0; a < vectors.Count; a++)
            for (int b = 0; b < vectors.Count; b++)
            {
                if (BinaryCodes.Hamming(codes[a], codes[b]) != CornerDistance(a, b)) wrong++;
                if (BinaryCodes.Hamming(plain[a], plain[b]) != CornerDistance(a, b)) wrongPlain++;
            }
        Assert.Equal(0, wrong);
        Assert.True(wrongPlain > 0, "the turned cube should defeat plain sign bits, or the test shows nothing");
    }

    [Fact]
    public void QueryThresholdsSplitTheQueriesAtTheirMedianAndOnlyQueriesUseThem()
    {
        var random = new Random(25);
        const int dim = 10, n = 201, m = 51;
        var documents = Enumerable.Range(0, n).Select(_ => Gaussian(random, dim)).ToList();
        // Queries sit elsewhere (shifted, as a prompt moves them): the documents' medians would leave their bits lopsided.
        var queries = Enumerable.Range(0, m).Select(_ => Gaussian(random, dim).Select(x => 0.5f * x + 0.8f).ToArray()).ToList();
        var projection = IterativeQuantization.Calibrate("m", documents, iterations: 10).Projection;
        Assert.Null(projection.QueryThresholds);
        var withQueries = IterativeQuantization.WithQueryThresholds(projection, queries);
        Assert.Equal((m, projection.Thresholds), (withQueries.QueryTexts, withQueries.Thresholds));

        // Reference: the median of each rotated query coordinate, in double (m is odd: the middle value).
        var rotated = queries.Select(q => Enumerable.Range(0, dim).Select(d => Enumerable.Range(0, dim).Sum(k => (double)projection.Row(d)[k] * q[k])).ToArray()).ToList();
        for (int d = 0; d < dim; d++) Assert.Equal(rotated.Select(y => y[d]).Order().ElementAt(m / 2), withQueries.QueryThresholds![d], 1e-5);
        var queryCodes = queries.Select(q => withQueries.Pack(q, query: true)).ToList();
        for (int d = 0; d < dim; d++) Assert.Equal((m - 1) / 2, queryCodes.Count(c => (c[d / 8] & (0x80 >> (d % 8))) != 0));
        Assert.True(Enumerable.Range(0, dim).Any(d => queries.Count(q => (projection.Pack(q)[d / 8] & (0x80 >> (d % 8))) != 0) > 3 * m / 4),
            "the shifted queries should be lopsided under the document thresholds, or the test shows nothing");

        // Documents, and queries of a projection without query thresholds, keep the document thresholds.
        foreach (var x in documents.Take(20))
        {
            Assert.Equal(projection.Pack(x), withQueries.Pack(x));
            Assert.Equal(projection.Pack(x), projection.Pack(x, query: true));
        }
        // VectorFormat takes the query thresholds for queries only.
        var vector = Gaussian(random, dim);
        Assert.Equal(withQueries.Pack(vector, query: true), new VectorFormat("m", dim, null, EmbeddingEncoding.Binary, projection: withQueries, queries: true).ToBinary(vector));
        Assert.Equal(withQueries.Pack(vector), new VectorFormat("m", dim, null, EmbeddingEncoding.Binary, projection: withQueries).ToBinary(vector));

        // The file keeps them; a file without them (written before they existed) loads with none.
        using var dir = new TempDirectory();
        withQueries.Save(dir.File("q.json"));
        var loaded = BinaryProjection.Load(dir.File("q.json"));
        Assert.Equal(withQueries.QueryThresholds, loaded.QueryThresholds);
        Assert.Equal(m, loaded.QueryTexts);
        Assert.DoesNotContain("query_thresholds", projection.ToJson());
        Assert.Null(BinaryProjection.FromJson(projection.ToJson(), "old.json").QueryThresholds);
        string broken = withQueries.ToJson().Replace("\"query_thresholds\":[", "\"query_thresholds\":[1,");
        Assert.Contains("query thresholds need 10 finite values (11 given)", Assert.Throws<RepShiftException>(() => BinaryProjection.FromJson(broken, "q.json")).Message);
    }
}
