using RepShift.Compression;
using RepShift.Evaluation;

namespace RepShift.Tests;

/// <summary>Calibration end to end on a tiny model loaded from a folder: the trials it runs and the work each plan takes.</summary>
public class CalibrationTests
{
    /// <summary>Enough layers for every calibration schedule (the latest reduces after layer 3).</summary>
    private const int Layers = 5;

    private static readonly string[] Words = ["the", "quick", "brown", "fox", "jump", "over", "lazy", "dog", "cat", "sat", "on", "mat", "big", "small", "red", "blue", "and", "it", "was", "in"];

    /// <summary>A first sentence of 4 to 7 words, then a body long enough (≥ 64 tokens) that the calibration plans compress it.</summary>
    private static List<string> Texts(int count)
    {
        var rng = new Random(5);
        string Sentence(int n) => string.Join(' ', Enumerable.Range(0, n).Select(_ => Words[rng.Next(Words.Length)]));
        return [.. Enumerable.Range(0, count).Select(i => $"{Sentence(4 + i % 4)}. {Sentence(70 + 3 * i)}.")];
    }

    [Fact]
    public void SelfRetrievalSplitsTheFirstSentenceFromTheRest()
    {
        var (q, d) = Calibration.SplitFirstSentence(["Shares rise\n\nMarkets were up. Banks gained.", "No sentence end here", "Why? Because.", "."]);
        Assert.Equal(["Shares rise", "Why?"], q);
        Assert.Equal(["Markets were up. Banks gained.", "Because."], d);
    }

    [Fact]
    public void RanksScorersThenSearchesTheGridWithTheExpectedWorkShares()
    {
        using var dir = new TempDirectory();
        TinyBert.WriteFolder(dir.Path, TinyBert.Create(seed: 3, layerCount: Layers, maxPositions: 128));
        using var embedder = TextEmbedder.Load(dir.Path, new EmbedderOptions { MaxTokens = 128, Threads = 2 });
        var texts = Texts(8);
        var report = Calibration.Run(embedder, texts, targetSpeedup: 1.0, finalists: 1);

        // Stage 1: every scorer at the reference schedule; stage 2: the two best non-random scorers × 3
        // reducers × 4 schedules × 4 keeps, less the one stage-2 plan per scorer that equals its stage-1 plan.
        var metrics = report.Trials.Select(t => t.Plan.Metric).Distinct().ToList();
        Assert.Equal(Calibration.Metrics.Order(), metrics.Order());
        var searched = report.Trials.Select(t => t.Plan.Metric).GroupBy(m => m).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.Equal(2, searched.Count);
        Assert.DoesNotContain("random", searched);
        Assert.Equal(Calibration.Metrics.Length + 2 * (3 * 4 * 4 - 1), report.Trials.Count);
        Assert.All(report.Trials, t => Assert.Equal(embedder.ModelName, t.Plan.Model));

        // Work share by hand: a body of n ≥ MinLength rows keeps [CLS], [SEP] and round(keep · (n − 2)) rows at a reduction.
        var (_, documents) = Calibration.SplitFirstSentence(texts);
        var lengths = documents.Select(d => embedder.Tokenize(d).Ids.Length).ToList();
        Assert.All(lengths, n => Assert.True(n >= 64, $"a body of {n} tokens would stay dense"));
        foreach (var trial in report.Trials.Where(t => t.Plan.Mode == ReduceMode.Drop))
        {
            long dense = 0, work = 0;
            foreach (int n in lengths)
            {
                dense += (long)Layers * n;
                int rows = n;
                for (int layer = 0; layer < Layers; layer++)
                {
                    work += rows;
                    if (trial.Plan.PruneAt.Contains(layer) && rows >= trial.Plan.MinLength) rows = 2 + (int)Math.Round(trial.Plan.Keep * (rows - 2), MidpointRounding.AwayFromZero);
                }
            }
            Assert.Equal(work / (double)dense, trial.WorkShare, 12);
        }

        // At target 1 every trial qualifies: exactly one finalist is timed, the most robust non-random one.
        var timed = Assert.Single(report.Trials, t => t.Speedup != null);
        Assert.NotEqual("random", timed.Plan.Metric);
        double best = report.Trials.Where(t => t.Plan.Metric != "random").Max(t => Calibration.Robustness(t, report.Trials));
        Assert.Equal(best, Calibration.Robustness(timed, report.Trials));
        Assert.True(report.Chosen == null || (report.Chosen == timed && timed.Speedup >= 1));
        Assert.All(report.Trials, t => Assert.InRange(t.SelfMrr, 0, 1));
    }
}
