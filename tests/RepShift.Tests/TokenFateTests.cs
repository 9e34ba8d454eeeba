using System.Text;
using RepShift.Compression;
using RepShift.Kernels;
using RepShift.Loading;
using RepShift.Text;

namespace RepShift.Tests;

/// <summary>TokenFateReport against the encoder's own trace: counts, protected tokens, score order, fates by mode.</summary>
public class TokenFateTests
{
    private const string Text = "the quick brown fox jumps over the lazy dog and the cat sat on the mat";

    private static readonly TextEmbedder Embedder = new(
        new ModelBundle("tiny", TinyBert.Create(seed: 5, layerCount: 4), BertTextTokenizer.FromVocab(new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\n", TinyBert.Vocab))))),
        new EmbedderOptions { MaxTokens = 32, Attention = AttentionKind.Naive });

    private static TokenFateReport Trace(CompressionPlan plan) => Embedder.TraceFates(Text, plan);

    [Fact]
    public void KeptTokensAreTheRowsThatSurviveTheTrace()
    {
        var plan = new CompressionPlan { Metric = "norm", PruneAt = [0], Keep = 0.5 };
        var report = Trace(plan);
        var ids = Embedder.Tokenize(Text).Ids;
        int[] survivors = [];
        Embedder.Encoder.Trace([ids], plan, (layer, batch) => survivors = batch.Origin.ToArray());

        Assert.Equal(ids.Length, report.InputTokens);
        Assert.Equal(survivors.Length, report.Kept);
        Assert.Equal(survivors.Length, report.FinalRows);
        Assert.Equal(survivors.Order(), report.Tokens.Where(t => t.Fate == TokenFateKind.Kept).Select(t => t.Position));
        Assert.All(report.Tokens.Where(t => t.Fate != TokenFateKind.Kept), t => Assert.Equal((TokenFateKind.Dropped, 0), (t.Fate, t.Layer!.Value)));
        // Word pieces read back from the vocabulary, "##" included.
        Assert.Equal(["[CLS]", "the", "quick", "brown", "fox", "jump", "##s", "over"], report.Tokens.Take(8).Select(t => t.Token));
        Assert.Equal("[SEP]", report.Tokens[^1].Token);
        // Layer 0 sees every token, layers 1–3 the survivors, as Encode counts them.
        Assert.Equal(ids.Length + 3 * survivors.Length, report.TokenLayers);
        Assert.Equal(Embedder.Embed([Text], plan: plan).TokenLayers[0], report.TokenLayers);
    }

    [Theory]
    [InlineData(ReduceMode.Drop)]
    [InlineData(ReduceMode.Fuse)]
    [InlineData(ReduceMode.Merge)]
    [InlineData(ReduceMode.MergeProtect)]
    public void ProtectedTokensAreAlwaysKept(ReduceMode mode)
    {
        var report = Trace(new CompressionPlan { Metric = "norm", PruneAt = [0, 1, 2], Keep = 0.2, Mode = mode });
        var protectedTokens = report.Tokens.Where(t => t.Protected).ToArray();
        Assert.Equal([0, report.InputTokens - 1], protectedTokens.Select(t => t.Position));
        Assert.All(protectedTokens, t => Assert.Equal((TokenFateKind.Kept, (int?)null), (t.Fate, t.Layer)));
        Assert.All(protectedTokens, t => Assert.DoesNotContain(t.Scores, float.IsNaN));
        Assert.True(report.Kept < report.InputTokens - 2, $"{report.Kept} of {report.InputTokens} kept: the plan removed too little to test anything");
    }

    [Fact]
    public void DroppedTokensScoreNoHigherThanTheTokensKeptAtTheirLayer()
    {
        var report = Trace(new CompressionPlan { Metric = "norm", PruneAt = [0, 2], Keep = 0.6 });
        Assert.Equal([0, 2], report.ReductionLayers);
        for (int k = 0; k < report.ReductionLayers.Length; k++)
        {
            int layer = report.ReductionLayers[k];
            var there = report.Tokens.Where(t => !float.IsNaN(t.Scores[k])).ToArray();
            var dropped = there.Where(t => t.Layer == layer).ToArray();
            var kept = there.Where(t => !t.Protected && t.Layer != layer).ToArray();
            Assert.NotEmpty(dropped);
            Assert.NotEmpty(kept);
            Assert.True(dropped.Max(t => t.Scores[k]) <= kept.Min(t => t.Scores[k]), $"after layer {layer} a dropped token outscores a kept one");
            // A token is scored at a reduction exactly when it had not been removed before it.
            Assert.All(report.Tokens, t => Assert.Equal(t.Layer is null || t.Layer >= layer, !float.IsNaN(t.Scores[k])));
        }
    }

    [Theory]
    [InlineData(ReduceMode.Fuse, TokenFateKind.Fused)]
    [InlineData(ReduceMode.Merge, TokenFateKind.Merged)]
    [InlineData(ReduceMode.MergeProtect, TokenFateKind.Merged)]
    public void FuseAndMergeReportTheirKind(ReduceMode mode, TokenFateKind removed)
    {
        var report = Trace(new CompressionPlan { Metric = "norm", PruneAt = [1], Keep = 0.5, Mode = mode });
        var gone = report.Tokens.Where(t => t.Fate != TokenFateKind.Kept).ToArray();
        Assert.NotEmpty(gone);
        Assert.All(gone, t => Assert.Equal((removed, 1), (t.Fate, t.Layer!.Value)));
        Assert.Equal(report.Kept + (removed == TokenFateKind.Fused ? 1 : 0), report.FinalRows);
        // Merging conserves size: the kept rows stand for every input token between them.
        if (removed == TokenFateKind.Merged)
            Assert.Equal(report.InputTokens, report.Tokens.Where(t => t.Fate == TokenFateKind.Kept).Sum(t => t.Size));
    }

    [Fact]
    public void DensePlanIsAClearError()
    {
        var e = Assert.Throws<RepShiftException>(() => Embedder.TraceFates(Text));
        Assert.Contains("--prune-at", e.Message);
        Assert.Equal("PruneAt", Assert.Throws<OptionException>(() => Trace(new CompressionPlan { Metric = "norm", PruneAt = [3] })).Property);
        Assert.Throws<RepShiftException>(() => Embedder.TraceFates("  ", new CompressionPlan { PruneAt = [0], Keep = 0.5 }));
    }
}
