using RepShift.Embeddings;

namespace RepShift.Tests;

/// <summary>Matryoshka truncation, int8 ranges, packed sign bits and Hamming search against plain references.</summary>
public class VectorEncodingTests
{
    private static float[] RandomVector(Random random, int dim, float scale = 1)
    {
        var v = new float[dim];
        for (int d = 0; d < dim; d++) v[d] = scale * (float)(random.NextDouble() * 2 - 1);
        return v;
    }

    [Fact]
    public void TruncationKeepsThePrefixDirectionAtUnitLength()
    {
        var random = new Random(3);
        var v = RandomVector(random, 384);
        foreach (int dims in new[] { 384, 256, 128, 64, 1 })
        {
            var t = Matryoshka.Truncate(v, dims);
            Assert.Equal(dims, t.Length);
            double norm = Math.Sqrt(v.Take(dims).Sum(x => (double)x * x));
            for (int d = 0; d < dims; d++) Assert.Equal(v[d] / norm, t[d], 1e-6);
            Assert.Equal(1.0, Math.Sqrt(t.Sum(x => (double)x * x)), 1e-6);
        }
        Assert.Equal(new float[4], Matryoshka.Truncate(new float[] { 0, 0, 0, 0, 5 }, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => Matryoshka.Truncate(v, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Matryoshka.Truncate(v, 385));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(385)]
    [InlineData(-1)]
    public void DimensionsOutsideTheModelAreAClearError(int dims)
    {
        var e = Assert.Throws<OptionException>(() => new VectorFormat("all-MiniLM-L6-v2", 384, dims));
        Assert.Equal($"{dims} dimensions requested: all-MiniLM-L6-v2 gives 384, so ask for 1 to 384", e.Message);
    }

    [Fact]
    public void Int8RoundTripIsWithinHalfAStepInsideTheRangesAndClampsOutside()
    {
        var random = new Random(5);
        var corpus = Enumerable.Range(0, 200).Select(_ => RandomVector(random, 48, 0.3f)).ToList();
        corpus.Add(Enumerable.Repeat(0.25f, 48).ToArray());
        // Dimension 7 is constant over the corpus: it must decode to that constant, not divide by zero.
        foreach (var v in corpus) v[7] = 0.125f;
        var ranges = Int8Ranges.Calibrate("m", corpus);
        for (int d = 0; d < 48; d++)
        {
            Assert.Equal(corpus.Min(v => v[d]), ranges.Min[d]);
            Assert.Equal(corpus.Max(v => v[d]), ranges.Max[d]);
        }
        foreach (var v in corpus.Concat(Enumerable.Range(0, 50).Select(_ => RandomVector(random, 48, 0.2f))))
        {
            var x = ranges.Dequantize(ranges.Quantize(v));
            for (int d = 0; d < 48; d++)
            {
                double step = ((double)ranges.Max[d] - ranges.Min[d]) / 255;
                double clamped = Math.Clamp(v[d], ranges.Min[d], ranges.Max[d]);
                // Half a level, plus float32 rounding of values of magnitude ≤ 1.
                Assert.InRange(Math.Abs(x[d] - clamped), 0, step / 2 + 1e-6);
            }
        }
        var extreme = new float[48];
        Array.Fill(extreme, 10f);
        Assert.All(ranges.Quantize(extreme).Where((_, d) => d != 7), q => Assert.Equal(sbyte.MaxValue, q));
        Assert.Equal(sbyte.MinValue, ranges.Quantize(extreme)[7]); // a constant dimension has one level
        Array.Fill(extreme, -10f);
        Assert.All(ranges.Quantize(extreme).Where((_, d) => d != 7), q => Assert.Equal(sbyte.MinValue, q));
        Assert.Equal(0.125f, ranges.Dequantize(ranges.Quantize(corpus[0]))[7]);
    }

    [Fact]
    public void Int8RangesFileRoundTripsAndIsRefusedForAnotherModelOrDimension()
    {
        var random = new Random(8);
        var ranges = Int8Ranges.Calibrate("all-MiniLM-L6-v2", Enumerable.Range(0, 20).Select(_ => RandomVector(random, 16)).ToList());
        using var dir = new TempDirectory();
        ranges.Save(dir.File("r.json"));
        var loaded = Int8Ranges.Load(dir.File("r.json"));
        Assert.Equal(ranges.Min, loaded.Min);
        Assert.Equal(ranges.Max, loaded.Max);
        Assert.Equal("all-MiniLM-L6-v2", loaded.Model);
        Assert.Equal(16, loaded.Dimension);
        Assert.Equal(20, loaded.Texts);
        Assert.Contains("\"format\":\"repshift-int8-ranges\"", File.ReadAllText(dir.File("r.json")));

        loaded.CheckFor("ALL-MiniLM-L6-v2", 16);
        var other = Assert.Throws<OptionException>(() => new VectorFormat("arctic-embed-xs", 16, null, EmbeddingEncoding.Int8, loaded));
        Assert.Contains("calibrated for all-MiniLM-L6-v2, not arctic-embed-xs", other.Message);
        var dims = Assert.Throws<OptionException>(() => new VectorFormat("all-MiniLM-L6-v2", 384, 16 * 2, EmbeddingEncoding.Int8, loaded));
        Assert.Contains("calibrated at 16 dimensions, not 32", dims.Message);
        Assert.Throws<OptionException>(() => new VectorFormat("all-MiniLM-L6-v2", 384, 16, EmbeddingEncoding.Int8, ranges: null));
        Assert.Equal(16, new VectorFormat("all-MiniLM-L6-v2", 384, 16, EmbeddingEncoding.Int8, loaded).BytesPerVector);

        File.WriteAllText(dir.File("bad.json"), ranges.ToJson().Replace("\"dimension\":16", "\"dimension\":15"));
        Assert.Contains("\"dimension\" is 15 but \"min\" has 16 values", Assert.Throws<RepShiftException>(() => Int8Ranges.Load(dir.File("bad.json"))).Message);
        File.WriteAllText(dir.File("plan.json"), "{\"metric\":\"norm\"}");
        Assert.Throws<RepShiftException>(() => Int8Ranges.Load(dir.File("plan.json")));
    }

    [Fact]
    public void BinaryPacksSignBitsMostSignificantFirst()
    {
        // Dimension 0 → bit 7 of byte 0; dimension 9 → bit 6 of byte 1; zero is not positive; the last byte's spare bits stay 0.
        var v = new float[11];
        Array.Fill(v, -1f);
        v[0] = 0.5f;
        v[9] = 1e-8f;
        v[3] = 0f;
        v[10] = 2f;
        Assert.Equal(new byte[] { 0x80, 0x60 }, BinaryCodes.Pack(v));
        Assert.Equal(2, EmbeddingEncoding.Binary.BytesPerVector(11));
        Assert.Equal(new float[] { 1, -1, -1, -1, -1, -1, -1, -1, -1, 1, 1 }, BinaryCodes.Unpack(BinaryCodes.Pack(v), 11));
        Assert.Equal(new byte[] { 0xFF }, BinaryCodes.Pack(new float[] { 1, 1, 1, 1, 1, 1, 1, 1 }));
    }

    [Theory]
    [InlineData(64, 10)]
    [InlineData(384, 100)]
    [InlineData(13, 500)]
    public void HammingSearchAndRescoreEqualBruteForce(int dims, int k)
    {
        var random = new Random(dims);
        var docs = Enumerable.Range(0, 300).Select(_ => RandomVector(random, dims)).ToList();
        docs.Add(docs[17]); // an exact copy ties with its original
        var codes = docs.Select(v => BinaryCodes.Pack(v)).ToList();
        for (int q = 0; q < 20; q++)
        {
            var query = RandomVector(random, dims);
            var qBits = query.Select(x => x > 0).ToArray();
            int Distance(float[] doc) => doc.Select((x, d) => (x > 0) != qBits[d] ? 1 : 0).Sum();
            var expected = Enumerable.Range(0, docs.Count).OrderBy(j => Distance(docs[j])).ThenBy(j => j).Take(k).ToArray();
            var found = BinaryCodes.Search(BinaryCodes.Pack(query), codes, k);
            Assert.Equal(expected, found);
            for (int j = 0; j < docs.Count; j += 37) Assert.Equal(Distance(docs[j]), BinaryCodes.Hamming(BinaryCodes.Pack(query), codes[j]));

            // Rescoring: the float query against ±1 per bit (in double here), best first; float sums in another order
            // differ by rounding, hence the 1e-5 between neighbours. Exact copies score alike and keep the shortlist's order.
            double Score(int j) => docs[j].Select((x, d) => x > 0 ? (double)query[d] : -query[d]).Sum();
            var rescored = BinaryCodes.Rescore(query, codes, found);
            Assert.Equal(found.Order(), rescored.Order());
            for (int i = 1; i < rescored.Length; i++) Assert.True(Score(rescored[i - 1]) >= Score(rescored[i]) - 1e-5, $"rank {i} out of order");
            if (rescored.Contains(17) && rescored.Contains(300)) Assert.True(Array.IndexOf(rescored, 17) < Array.IndexOf(rescored, 300));
        }
    }

    [Theory]
    [InlineData(13, 40)]
    [InlineData(64, 100)]
    [InlineData(384, 7)]
    [InlineData(8, 0)]
    [InlineData(8, 1000)]
    public void FloatQuerySearchBreaksHammingTiesByQueryWeightedDistance(int dims, int k)
    {
        var random = new Random(100 + dims);
        var docs = Enumerable.Range(0, 300).Select(_ => RandomVector(random, dims)).ToList();
        docs.Add(docs[17]); // an exact copy ties with its original on both keys
        var codes = docs.Select(v => BinaryCodes.Pack(v)).ToList();
        for (int q = 0; q < 20; q++)
        {
            // Eighths (and a zero, whose bit is clear) add up exactly in float, so the reference's sums equal the search's.
            var query = Enumerable.Range(0, dims).Select(_ => random.Next(-8, 9) / 8f).ToArray();
            bool Bit(int d) => query[d] > 0;
            int Distance(float[] doc) => Enumerable.Range(0, dims).Count(d => (doc[d] > 0) != Bit(d));
            double Weighted(float[] doc) => Enumerable.Range(0, dims).Where(d => (doc[d] > 0) != Bit(d)).Sum(d => Math.Abs((double)query[d]));
            var expected = Enumerable.Range(0, docs.Count).OrderBy(j => Distance(docs[j])).ThenBy(j => Weighted(docs[j])).ThenBy(j => j)
                .Take(k).ToArray();
            var found = BinaryCodes.Search(query, codes, k);
            Assert.Equal(expected, found);
        }
    }
}
