using System.Diagnostics;
using RepShift.Compression;

namespace RepShift.Evaluation;

/// <summary>One plan's quality and cost in the sweep; null where a data set was not run for it.</summary>
public sealed record SweepRow(
    string Group, string Label, CompressionPlan Plan,
    double? Spearman, double? SickWorkShare,
    double? Mrr10, double? Recall1, double? BbcWorkShare, double? BbcSeconds, double? Speedup);

/// <summary>
/// The compression sweep behind docs/RESULTS.md: every plan on SICK (Spearman) and on BBC headline →
/// article retrieval (MRR@10, recall@1), with its share of the dense token-layer work and its measured
/// speed on the BBC texts relative to dense RepShift. Dense is re-timed between plans and each plan is
/// compared with the mean of the dense runs next to it, so slow drifts of the machine cancel.
/// </summary>
public sealed class Sweep(TextEmbedder embedder, StsEvaluation? sick, RetrievalEvaluation? bbc)
{
    /// <summary>Scorers compared at equal budgets, and candidate preset settings (short texts left dense).</summary>
    public static IReadOnlyList<(string Group, CompressionPlan Plan)> DefaultPlans()
    {
        var plans = new List<(string, CompressionPlan)>();
        string[] scorers = ["random", "norm", "cls-attn", "mean-attn", "shift-attn", "shift-attn-sub", "shift-mlp", "shift-mlp-sub",
            "shift-layer", "shift-mlp-cos", "shift-mlp-rel", "shift-mlp-inv"];
        foreach (var m in scorers) plans.Add(("scorers: drop after layer 1, keep 0.5", new CompressionPlan { Metric = m, PruneAt = [1], Keep = 0.5 }));
        foreach (var m in new[] { "random", "norm", "mean-attn", "shift-mlp" })
            plans.Add(("scorers: drop after layer 0, keep 0.5", new CompressionPlan { Metric = m, PruneAt = [0], Keep = 0.5 }));
        var preset = new CompressionPlan { Metric = "norm", MinLength = 64 };
        foreach (double k in new[] { 0.4, 0.45, 0.5, 0.6 }) plans.Add(("presets", preset with { PruneAt = [0], Keep = k }));
        plans.Add(("presets", preset with { PruneAt = [1], Keep = 0.5 }));
        // The scorer calibration picked (docs/RESULTS.md): inverted MLP shift after layer 1.
        foreach (double k in new[] { 0.35, 0.4 }) plans.Add(("presets", preset with { Metric = "shift-mlp-inv", PruneAt = [1], Keep = k }));
        foreach (double k in new[] { 0.6, 0.7 }) plans.Add(("presets", preset with { PruneAt = [0, 2], Keep = k }));
        plans.Add(("presets", preset with { PruneAt = [0], Keep = 0.5, Mode = ReduceMode.Fuse }));
        plans.Add(("presets", preset with { PruneAt = [0], Keep = 0.5, Mode = ReduceMode.Merge }));
        plans.Add(("presets", preset with { PruneAt = [0], Keep = 0.5, Metric = "mean-attn" }));
        return plans;
    }

    /// <summary>Dense timings on the BBC texts, each with the index of the row it follows.</summary>
    private readonly List<(int AfterRow, double Seconds)> _denseSeconds = [];

    public SweepRow Dense { get; private set; } = null!;

    public IReadOnlyList<SweepRow> Run(IReadOnlyList<(string Group, CompressionPlan Plan)> plans, IProgress<string>? progress = null)
    {
        Dense = Evaluate("dense", CompressionPlan.None, progress);
        if (Dense.BbcSeconds is double first) _denseSeconds.Add((0, first));
        var rows = new List<SweepRow> { Dense };
        for (int i = 0; i < plans.Count; i++)
        {
            rows.Add(Evaluate(plans[i].Group, plans[i].Plan, progress));
            if (bbc != null && (i % 4 == 3 || i == plans.Count - 1)) TimeDense(rows.Count - 1);
        }
        // Each plan against the dense timings just before and after it (re-timed every four plans), so a
        // change in machine load during the sweep falls on both sides of the ratio.
        return [.. rows.Select((r, j) => r with { Speedup = r.BbcSeconds is double s ? Bracket(j) / s : null })];
    }

    private double Bracket(int row)
    {
        if (_denseSeconds.Count == 0) return double.NaN;
        var before = _denseSeconds.LastOrDefault(d => d.AfterRow < row, _denseSeconds[0]);
        var after = _denseSeconds.FirstOrDefault(d => d.AfterRow >= row, _denseSeconds[^1]);
        return row == 0 ? before.Seconds : (before.Seconds + after.Seconds) / 2;
    }

    private void TimeDense(int afterRow)
    {
        var clock = Stopwatch.StartNew();
        embedder.WithCompression(CompressionPlan.None).Embed(bbc!.Texts);
        _denseSeconds.Add((afterRow, clock.Elapsed.TotalSeconds));
    }

    private SweepRow Evaluate(string group, CompressionPlan plan, IProgress<string>? progress)
    {
        var e = embedder.WithCompression(plan);
        string label = plan.IsDense ? "dense" : Label(plan);
        double? spearman = null, sickShare = null, mrr = null, r1 = null, bbcShare = null, seconds = null;
        int layers = embedder.Encoder.Config.Layers;
        if (sick != null && !plan.IsDense && plan.MinLength > LongestSickSentence(e))
        {
            // No sentence reaches the minimum length, so every embedding is the dense one (tested): reuse dense.
            spearman = Dense.Spearman;
            sickShare = Dense.SickWorkShare;
        }
        else if (sick != null && group != "scorers: drop after layer 0, keep 0.5")
        {
            var s = sick.Run(e);
            spearman = 100 * s.Spearman;
            sickShare = s.Work.TokenLayers / (double)(s.Work.Tokens * layers);
        }
        if (bbc != null)
        {
            var b = bbc.Run(e);
            mrr = 100 * b.Scores.Mrr10;
            r1 = 100 * b.Scores.Recall1;
            bbcShare = b.Work.TokenLayers / (double)(b.Work.Tokens * layers);
            seconds = b.Work.Seconds;
        }
        progress?.Report($"{group} | {label}: SICK {spearman:F2} (work {sickShare:P0}), BBC MRR@10 {mrr:F2} R@1 {r1:F2} (work {bbcShare:P0}, {seconds:F1} s)");
        return new SweepRow(group, label, plan, spearman, sickShare, mrr, r1, bbcShare, seconds, null);
    }

    private int? _longestSick;

    private int LongestSickSentence(TextEmbedder e) => _longestSick ??= sick!.Sentences.Max(x => e.Tokenize(x).Ids.Length);

    public static string Label(CompressionPlan p) =>
        $"{p.Metric}, {p.Mode.ToString().ToLowerInvariant()} after {string.Join(",", p.PruneAt)}, keep {p.Keep:0.##}"
        + (p.MinLength > 0 ? $", min {p.MinLength}" : "") + (p.Pooling == CompressionPooling.Frozen ? ", frozen" : "");
}
