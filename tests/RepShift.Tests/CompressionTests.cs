using RepShift.Compression;
using RepShift.Evaluation;
using RepShift.Kernels;
using RepShift.Models;
using RepShift.Tokens;

namespace RepShift.Tests;

/// <summary>Scorers against a direct double-precision computation; reducers' invariants; plans' errors.</summary>
public class CompressionTests
{
    private static readonly BertWeights Weights = TinyBert.Create(seed: 11, layerCount: 4);

    private static readonly int[][] Sequences =
    [
        [2, 5, 7, 9, 10, 5, 11, 28, 3],
        [2, 12, 13, 29, 3],
        [2, 31, 32, 33, 34, 35, 5, 36, 8, 27, 24, 25, 15, 3],
        [2, 3],
        [2, 20, 22, 7, 3],
    ];

    private static BertEncoder Encoder(AttentionKind kind = AttentionKind.Naive) => new(Weights, TestCompute.Shared, kind);

    /// <summary>Scores after layer 1 with keep = 1 (nothing moves), against the reference's intermediates; tolerance 1e-4 relative to the score scale.</summary>
    [Theory]
    [InlineData("norm")]
    [InlineData("shift-attn")]
    [InlineData("shift-attn-sub")]
    [InlineData("shift-mlp")]
    [InlineData("shift-mlp-sub")]
    [InlineData("shift-layer")]
    [InlineData("shift-mlp-l1")]
    [InlineData("shift-mlp-cos")]
    [InlineData("shift-mlp-rel")]
    [InlineData("shift-attn-sub-cos")]
    [InlineData("cls-attn")]
    [InlineData("mean-attn")]
    public void ScorerMatchesDirectComputation(string metricName)
    {
        var metric = ScoreMetric.Parse(metricName);
        var plan = new CompressionPlan { Metric = metricName, PruneAt = [1], Keep = 1.0 };
        var scores = new List<float[]>();
        Encoder().Trace(Sequences, plan, (layer, batch) =>
        {
            if (layer != 1) return;
            for (int s = 0; s < batch.Sequences; s++) scores.Add(batch.Score.Slice(batch.SeqStarts[s], batch.Length(s)).ToArray());
        });
        for (int s = 0; s < Sequences.Length; s++)
        {
            var trace = ReferenceBert.Run(Weights, Sequences[s])[1];
            var expected = Enumerable.Range(0, Sequences[s].Length).Select(i => Expected(metric, trace, i)).ToArray();
            double scale = expected.Max(Math.Abs) + 1e-12;
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(scores[s][i] - expected[i]) <= 1e-4 * scale, $"{metricName} seq {s} token {i}: {scores[s][i]} vs {expected[i]}");
        }
    }

    private static double Expected(ScoreMetric metric, ReferenceBert.LayerTrace t, int i)
    {
        double Distance(double[] before, double[] after)
        {
            var delta = after.Select((v, j) => v - before[j]).ToArray();
            double value = metric.Distance switch
            {
                ShiftDistance.L2 => ReferenceBert.L2(delta),
                ShiftDistance.L1 => delta.Sum(Math.Abs),
                _ => 1 - before.Select((v, j) => v * after[j]).Sum() / (ReferenceBert.L2(before) * ReferenceBert.L2(after)),
            };
            if (metric.Relative) value /= metric.Distance == ShiftDistance.L1 ? before.Sum(Math.Abs) : ReferenceBert.L2(before);
            return value;
        }
        int heads = t.P.Length, n = t.X.Length;
        return metric.Kind switch
        {
            ScoreKind.Norm => ReferenceBert.L2(t.Y[i]),
            ScoreKind.ClsAttention => Enumerable.Range(0, heads).Average(h => t.P[h][0][i]),
            ScoreKind.MeanAttention => Enumerable.Range(0, heads).Average(h => Enumerable.Range(0, n).Average(q => t.P[h][q][i])),
            _ => metric.Site switch
            {
                ShiftSite.Attention => Distance(t.X[i], metric.Sublayer ? t.H[i] : ReferenceBert.Add(t.X[i], t.A[i])),
                ShiftSite.Mlp => Distance(t.H[i], metric.Sublayer ? t.Y[i] : ReferenceBert.Add(t.H[i], t.M[i])),
                _ => Distance(t.X[i], t.Y[i]),
            },
        };
    }

    [Theory]
    [InlineData(ReduceMode.Drop)]
    [InlineData(ReduceMode.Fuse)]
    [InlineData(ReduceMode.Merge)]
    [InlineData(ReduceMode.MergeProtect)]
    public void ReducersKeepProtectedTokensAndSizes(ReduceMode mode)
    {
        var plan = new CompressionPlan { Metric = "norm", PruneAt = [0, 1], Keep = 0.5, Mode = mode };
        int sep = 3, cls = 2;
        int checkedLayers = 0;
        Encoder().Trace(Sequences, plan, (layer, batch) =>
        {
            if (layer > 1) return;
            checkedLayers++;
            Assert.Equal(0, batch.SeqStarts[0]);
            for (int s = 0; s < batch.Sequences; s++)
            {
                int start = batch.SeqStarts[s], n = batch.Length(s);
                Assert.True(n >= 2, $"sequence {s} lost a protected token");
                Assert.Equal(cls, batch.TokenId[start]);
                Assert.Equal(0, batch.Origin[start]);
                Assert.Equal(sep, batch.TokenId[start + n - 1]);
                Assert.Equal(Sequences[s].Length - 1, batch.Origin[start + n - 1]);
                float size = 0;
                for (int i = start; i < start + n; i++) size += batch.Size[i];
                if (mode != ReduceMode.Drop) Assert.Equal(Sequences[s].Length, size);
                else Assert.Equal(n, size);
                int unprotected = Sequences[s].Length - 2, expected = unprotected;
                for (int r = 0; r <= layer; r++) expected = (int)Math.Round(0.5 * expected, MidpointRounding.AwayFromZero);
                if (mode is ReduceMode.Drop) Assert.Equal(expected + 2, n);
                Assert.True(n <= Sequences[s].Length);
            }
        });
        Assert.Equal(2, checkedLayers);
    }

    [Fact]
    public void DropCountsFollowTheKeepRatio()
    {
        var plan = new CompressionPlan { Metric = "shift-mlp", PruneAt = [0], Keep = 0.5 };
        var lengths = new List<int>();
        Encoder().Trace(Sequences, plan, (layer, batch) =>
        {
            if (layer == 0) for (int s = 0; s < batch.Sequences; s++) lengths.Add(batch.Length(s));
        });
        // 7 unprotected → 4 kept (rounding half away from zero), 3 → 2, 12 → 6, 0 → 0, 3 → 2.
        Assert.Equal([6, 4, 8, 2, 4], lengths);
    }

    [Fact]
    public void KeepAllAndMergeNothingReproduceDenseExactly()
    {
        var dense = Encoder().Encode(Sequences).Embeddings;
        foreach (var plan in new[]
        {
            new CompressionPlan { Metric = "norm", PruneAt = [0, 2], Keep = 1.0 },
            new CompressionPlan { Metric = "shift-mlp", PruneAt = [1], Keep = 1.0, Mode = ReduceMode.Fuse },
            new CompressionPlan { Metric = "norm", PruneAt = [1], RemoveCount = 0, Mode = ReduceMode.Merge },
            new CompressionPlan { Metric = "mean-attn", PruneAt = [0], Keep = 1.0, Pooling = CompressionPooling.Frozen },
        })
        {
            var output = Encoder().Encode(Sequences, plan);
            for (int s = 0; s < Sequences.Length; s++) Assert.Equal(dense[s], output.Embeddings[s]);
            Assert.Equal(Sequences.Select(x => x.Length * 4).ToArray(), output.TokenLayers);
        }
    }

    [Fact]
    public void TokenLayersCountTheRowsEachLayerProcessed()
    {
        var plan = new CompressionPlan { Metric = "norm", PruneAt = [0], Keep = 0.5 };
        var output = Encoder().Encode(Sequences, plan);
        // Layer 0 sees every token, layers 1–3 the survivors.
        Assert.Equal([9 + 3 * 6, 5 + 3 * 4, 14 + 3 * 8, 2 + 3 * 2, 5 + 3 * 4], output.TokenLayers);
    }

    [Fact]
    public void CompressedEmbeddingsAreBatchInvariant()
    {
        foreach (var mode in Enum.GetValues<ReduceMode>())
        {
            var plan = new CompressionPlan { Metric = "random", PruneAt = [0, 1], Keep = 0.6, Mode = mode, Seed = 3 };
            var together = Encoder().Encode(Sequences, plan).Embeddings;
            for (int s = 0; s < Sequences.Length; s++)
                Assert.Equal(together[s], Encoder().Encode([Sequences[s]], plan).Embeddings[0]);
        }
    }

    [Fact]
    public void FrozenPoolingAddsEachDroppedTokensStateFromTheLayerItWasDropped()
    {
        // The expected vector is pooled here in double from the states the encoder's trace shows: the
        // layer-0 state of every dropped token, and the final rows (times their sizes) of the survivors.
        var plan = new CompressionPlan { Metric = "norm", PruneAt = [0], Keep = 0.3, Pooling = CompressionPooling.Frozen };
        var encoder = Encoder();
        int layers = Weights.Config.Layers, d = Weights.Config.Hidden;
        var atDrop = new Dictionary<(int Seq, int Origin), float[]>();
        var survivors = new HashSet<(int, int)>();
        var expected = new double[Sequences.Length][];
        encoder.Trace(Sequences, plan,
            afterLayer: (layer, batch) =>
            {
                for (int s = 0; s < batch.Sequences; s++)
                    for (int r = batch.SeqStarts[s]; r < batch.SeqStarts[s + 1]; r++)
                    {
                        if (layer == 0) survivors.Add((s, batch.Origin[r]));
                        if (layer < layers - 1) continue;
                        expected[s] ??= new double[d];
                        for (int j = 0; j < d; j++) expected[s][j] += batch.Size[r] * (double)batch.Row(r)[j];
                    }
            },
            beforeReduction: (_, batch) =>
            {
                for (int s = 0; s < batch.Sequences; s++)
                    for (int r = batch.SeqStarts[s]; r < batch.SeqStarts[s + 1]; r++) atDrop[(s, batch.Origin[r])] = batch.Row(r).ToArray();
            });
        for (int s = 0; s < Sequences.Length; s++)
        {
            var dropped = atDrop.Where(kv => kv.Key.Seq == s && !survivors.Contains(kv.Key)).Select(kv => kv.Value).ToList();
            Assert.Equal(Sequences[s].Length - survivors.Count(x => x.Item1 == s), dropped.Count);
            foreach (var state in dropped)
                for (int j = 0; j < d; j++) expected[s][j] += state[j];
            // Every input token is counted once: the mean divides by the sequence's length; then L2 normalisation.
            double norm = Math.Sqrt(expected[s].Sum(v => v * v));
            var actual = encoder.Encode(Sequences, plan).Embeddings[s];
            for (int j = 0; j < d; j++) Assert.Equal(expected[s][j] / norm, actual[j], 1e-6);
        }
        Assert.True(atDrop.Count > survivors.Count, "the plan dropped nothing");
    }

    [Fact]
    public void MinLengthLeavesShortSequencesDense()
    {
        var plan = new CompressionPlan { Metric = "norm", PruneAt = [0], Keep = 0.2, MinLength = 10 };
        var output = Encoder().Encode(Sequences, plan);
        var dense = Encoder().Encode(Sequences).Embeddings;
        Assert.Equal(dense[0], output.Embeddings[0]); // 9 tokens < 10: untouched
        Assert.NotEqual(dense[2], output.Embeddings[2]); // 14 tokens: compressed
    }

    [Fact]
    public void AdaptiveMassKeepsTheSmallestSetHoldingTheShare()
    {
        var batchLengths = new List<int>();
        var scores = new List<float[]>();
        var plan = new CompressionPlan { Metric = "norm", PruneAt = [0], Mass = 0.5 };
        Encoder().Trace([Sequences[2]], new CompressionPlan { Metric = "norm", PruneAt = [0], Keep = 1.0 }, (layer, batch) =>
        {
            if (layer == 0) scores.Add(batch.Score.Slice(1, batch.Count - 2).ToArray());
        });
        Encoder().Trace([Sequences[2]], plan, (layer, batch) =>
        {
            if (layer == 0) batchLengths.Add(batch.Count);
        });
        var sorted = scores[0].OrderDescending().ToArray();
        double total = sorted.Sum(), acc = 0;
        int expected = 0;
        while (acc < 0.5 * total - 1e-12) acc += sorted[expected++];
        Assert.Equal(expected + 2, batchLengths[0]);
    }

    [Theory]
    [InlineData("{\"metric\":\"norm\",\"prune_at\":[3]}", "PruneAt", "PruneAt 3 is out of range")]
    [InlineData("{\"metric\":\"norm\",\"prune_at\":[-1]}", "PruneAt", "PruneAt -1 is out of range")]
    [InlineData("{\"metric\":\"norm\",\"prune_at\":[0],\"keep\":0}", "Keep", "Keep must be in (0, 1]")]
    [InlineData("{\"metric\":\"norm\",\"prune_at\":[0],\"keep\":1.5}", "Keep", "not 1.5")]
    [InlineData("{\"metric\":\"bogus\",\"prune_at\":[0]}", "Metric", "unknown metric 'bogus'")]
    [InlineData("{\"metric\":\"norm\",\"prune_at\":[0],\"model\":\"bge-small\"}", "Model", "calibrated for model 'bge-small'")]
    [InlineData("{\"metric\":\"norm\",\"prune_at\":[0,0]}", "PruneAt", "twice")]
    public void BadPlansAreClearErrorsNamingTheProperty(string json, string property, string message)
    {
        var e = Assert.Throws<OptionException>(() => CompressionPlan.FromJson(json, "plan.json").Validate(4, "tiny"));
        Assert.Equal(property, e.Property);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void TheMetricIsParsedOnceWhenThePlanIsMade()
    {
        // A bad name fails where the plan is made, not on its first batch.
        var e = Assert.Throws<OptionException>(() => new CompressionPlan { Metric = "shift-nowhere" });
        Assert.Equal("Metric", e.Property);
        var plan = new CompressionPlan { Metric = "shift-attn-cos", PruneAt = [0] };
        Assert.Same(plan.ParsedMetric, plan.ParsedMetric);
        Assert.Equal(new ScoreMetric(ScoreKind.Shift, ShiftSite.Attention, Distance: ShiftDistance.Cosine), plan.ParsedMetric);
        Assert.Equal(ScoreMetric.Parse("norm"), (plan with { Metric = "norm" }).ParsedMetric);
    }

    [Fact]
    public void PlanFileRoundTrips()
    {
        var plan = new CompressionPlan { Metric = "shift-mlp-rel", PruneAt = [0, 2], Keep = 0.7, Mode = ReduceMode.MergeProtect, Pooling = CompressionPooling.Frozen, MinLength = 16, Model = "all-MiniLM-L6-v2" };
        var back = CompressionPlan.FromJson(plan.ToJson(), "x");
        Assert.Equal(plan.ToJson(), back.ToJson());
        Assert.Equal([0, 2], back.PruneAt);
        Assert.Contains("merge-protect", plan.ToJson());
        Assert.Throws<RepShiftException>(() => CompressionPlan.FromJson("{not json", "broken.json"));
    }

    [Theory]
    [InlineData("shift-mlp", ScoreKind.Shift, ShiftSite.Mlp, false, ShiftDistance.L2, false, false)]
    [InlineData("shift-attn-sub-cos-rel-inv", ScoreKind.Shift, ShiftSite.Attention, true, ShiftDistance.Cosine, true, true)]
    [InlineData("norm-inv", ScoreKind.Norm, ShiftSite.Mlp, false, ShiftDistance.L2, false, true)]
    public void MetricNamesParseAndPrintBack(string name, ScoreKind kind, ShiftSite site, bool sub, ShiftDistance distance, bool relative, bool inverted)
    {
        var m = ScoreMetric.Parse(name);
        Assert.Equal(new ScoreMetric(kind, site, sub, distance, relative, inverted), m);
        Assert.Equal(m, ScoreMetric.Parse(m.ToString()));
    }
}

public class PresetTests
{
    [Theory]
    [InlineData("none")]
    [InlineData("balanced")]
    [InlineData("fast")]
    public void PresetsAreValidForTheEmbeddedModel(string name)
    {
        var plan = Presets.Get(name);
        plan.Validate(6, "all-MiniLM-L6-v2");
        Assert.Equal(name == "none", plan.IsDense);
    }

    [Theory]
    [InlineData("arctic-embed-xs")]
    [InlineData("Snowflake/snowflake-arctic-embed-xs")]
    public void ArcticHasItsOwnPlansUnderEveryAlias(string model)
    {
        // CLS-pooled: MiniLM's norm-after-layer-0 plan loses 5.3 MRR@10 there; arctic's score by [CLS] attention after layer 1.
        foreach (var name in new[] { "balanced", "fast" })
        {
            var plan = Presets.Get(name, model);
            plan.Validate(6, "arctic-embed-xs");
            Assert.Equal("cls-attn", plan.Metric);
            Assert.Equal([1], plan.PruneAt);
            Assert.Equal(ReduceMode.Fuse, plan.Mode);
            Assert.Equal("norm", Presets.Get(name).Metric); // MiniLM's stay as they were
        }
        Assert.True(Presets.Get("fast", model).Keep < Presets.Get("balanced", model).Keep);
        Assert.True(Presets.Get("none", model).IsDense);
    }

    [Fact]
    public void UnknownPresetIsAClearError() =>
        Assert.Contains("unknown preset 'turbo'", Assert.Throws<RepShiftException>(() => Presets.Get("turbo")).Message);
}
