using System.Diagnostics;
using RepShift.Compression;

namespace RepShift.Evaluation;

/// <summary>One plan tried by calibration: its share of the dense token-layer work, its fidelity and (when timed) its measured speedup.</summary>
public sealed record CalibrationTrial(CompressionPlan Plan, double WorkShare, FidelityResult Fidelity, double SelfMrr, double? Speedup = null);

/// <summary>What calibration found: every trial, and the plan it picked (null when none reached the target).</summary>
public sealed record CalibrationReport(IReadOnlyList<CalibrationTrial> Trials, CalibrationTrial? Chosen, double DenseSeconds);

/// <summary>
/// Training-free, label-free choice of a compression plan for one model and one kind of text. The
/// criterion is self-retrieval: each text's first sentence (embedded dense) must find the rest of the
/// text (embedded under the plan) among all the others, scored by MRR@10 — a task the texts set themselves,
/// no labels needed. (Cosine to the dense embedding was tried first and misleads: on BBC News it ranked
/// [CLS] attention and even random dropping above token norm, the best setting for real retrieval.)
/// Stage 1 ranks scorers at one reference schedule; stage 2 tries the best scorers with every reducer over
/// a grid of schedules. A trial qualifies when its work share predicts the target speedup; qualifying
/// trials are ranked by the worst self-retrieval MRR over the trial and its grid neighbours (a plan whose
/// neighbours collapse is luck, not a setting), then timed against dense, best first, until one reaches
/// the target.
/// </summary>
public static class Calibration
{
    public static readonly string[] Metrics = ["norm", "shift-mlp", "shift-mlp-inv", "shift-mlp-rel", "shift-attn-sub", "shift-layer-cos", "cls-attn", "mean-attn", "random"];
    public static readonly double[] KeepGrid = [0.4, 0.5, 0.6, 0.7];
    public static readonly int[][] Schedules = [[0], [1], [0, 2], [1, 3]];

    /// <summary>Searches on the first <paramref name="screen"/> texts, times finalists on all of them.</summary>
    public static CalibrationReport Run(TextEmbedder embedder, IReadOnlyList<string> allTexts, double targetSpeedup, IProgress<string>? progress = null, int finalists = 4, int screen = 200)
    {
        if (allTexts.Count < 2) throw new RepShiftException("calibration needs at least 2 texts");
        var texts = allTexts.Count > screen ? allTexts.Take(screen).ToList() : allTexts;
        if (!(targetSpeedup >= 1)) throw new RepShiftException($"--target-speedup {targetSpeedup} is out of range: use 1 or more");
        var (queries, documents) = SplitFirstSentence(texts);
        if (queries.Count < 2) throw new RepShiftException("calibration needs texts of more than one sentence (it checks that each text's first sentence still finds the rest)");
        // Queries and documents take the model's retrieval prompts (none for a model without them), as in use.
        var queryVectors = embedder.Embed(queries, plan: CompressionPlan.None, prompt: "query").Vectors;
        var clock = Stopwatch.StartNew();
        var dense = embedder.Embed(documents, plan: CompressionPlan.None, prompt: "document");
        double denseSeconds = clock.Elapsed.TotalSeconds;
        double denseMrr = Evaluation.RetrievalMetrics.Score(queryVectors, dense.Vectors).Mrr10;
        progress?.Report($"dense: self-retrieval MRR@10 {denseMrr:P2} on {queries.Count} texts");
        var trials = new List<CalibrationTrial>();
        CalibrationTrial Try(CompressionPlan plan)
        {
            var known = trials.FirstOrDefault(t => t.Plan.ToJson() == plan.ToJson());
            if (known != null) return known;
            var result = embedder.Embed(documents, plan: plan, prompt: "document");
            double mrr = Evaluation.RetrievalMetrics.Score(queryVectors, result.Vectors).Mrr10;
            var trial = new CalibrationTrial(plan, result.TotalTokenLayers / (double)dense.TotalTokenLayers, Fidelity.Measure(dense.Vectors, result.Vectors), mrr);
            trials.Add(trial);
            progress?.Report($"{Describe(plan)}: work {trial.WorkShare:P0}, self-retrieval MRR@10 {mrr:P2}, mean cosine {trial.Fidelity.MeanCosine:F4}");
            return trial;
        }

        // Stage 1: scorers at a middle schedule.
        // Texts under 64 tokens stay dense in every plan: they gain almost nothing and lose the most (docs/RESULTS.md).
        var reference = new CompressionPlan { PruneAt = [1], Keep = 0.5, MinLength = 64, Model = embedder.ModelName };
        var ranked = Metrics.Select(m => Try(reference with { Metric = m })).OrderByDescending(t => t.SelfMrr).ToList();
        var best = ranked.Where(t => t.Plan.Metric != "random").Take(2).Select(t => t.Plan.Metric).ToList();

        // Stage 2: the best scorers × reducers × schedules.
        foreach (string metric in best)
            foreach (var mode in new[] { ReduceMode.Drop, ReduceMode.Fuse, ReduceMode.Merge })
                foreach (var schedule in Schedules)
                    foreach (double keep in KeepGrid)
                        Try(reference with { Metric = metric, Mode = mode, PruneAt = schedule, Keep = keep });

        // Qualify by predicted speed (work share ≤ 1/target), rank by the worst of a trial and its neighbours.
        double maxShare = 1 / targetSpeedup;
        var candidates = trials.Where(t => t.WorkShare <= maxShare && t.Plan.Metric != "random")
            .OrderByDescending(t => Robustness(t, trials)).ThenBy(t => t.WorkShare).ToList();
        CalibrationTrial? chosen = null;
        foreach (var candidate in candidates.Take(finalists))
        {
            double speedup = MeasureSpeedup(embedder, SplitFirstSentence(allTexts).Documents, candidate.Plan);
            var timed = candidate with { Speedup = speedup };
            trials[trials.IndexOf(candidate)] = timed;
            progress?.Report($"timed {Describe(candidate.Plan)}: {speedup:F2}× dense");
            if (speedup >= targetSpeedup)
            {
                chosen = timed;
                break;
            }
        }
        return new CalibrationReport(trials, chosen, denseSeconds);
    }

    /// <summary>The smallest self-retrieval MRR among a trial and the trials one grid step away (same scorer, reducer and schedule; keep ± 0.1).</summary>
    public static double Robustness(CalibrationTrial trial, IReadOnlyList<CalibrationTrial> all)
    {
        double worst = trial.SelfMrr;
        foreach (var other in all)
            if (other.Plan.Metric == trial.Plan.Metric && other.Plan.Mode == trial.Plan.Mode && other.Plan.PruneAt.SequenceEqual(trial.Plan.PruneAt)
                && Math.Abs(other.Plan.Keep - trial.Plan.Keep) is > 0.01 and < 0.11)
                worst = Math.Min(worst, other.SelfMrr);
        return worst;
    }

    /// <summary>Each text's first sentence (up to the first '.', '!', '?' or line break in its first 300 characters) and the rest; texts without both parts are left out.</summary>
    public static (List<string> Queries, List<string> Documents) SplitFirstSentence(IReadOnlyList<string> texts)
    {
        var queries = new List<string>();
        var documents = new List<string>();
        foreach (var text in texts)
        {
            int end = text.AsSpan(0, Math.Min(text.Length, 300)).IndexOfAny(".!?\n");
            if (end <= 0) continue;
            string q = text[..(end + 1)].Trim(), d = text[(end + 1)..].Trim();
            if (q.Length == 0 || d.Length == 0) continue;
            queries.Add(q);
            documents.Add(d);
        }
        return (queries, documents);
    }

    /// <summary>Dense and the plan timed alternately, three rounds each; the ratio of the medians.</summary>
    public static double MeasureSpeedup(TextEmbedder embedder, IReadOnlyList<string> texts, CompressionPlan plan, int rounds = 3)
    {
        var dense = new List<double>();
        var compressed = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            foreach (bool isDense in r % 2 == 0 ? new[] { true, false } : [false, true])
            {
                long start = Stopwatch.GetTimestamp();
                embedder.Embed(texts, plan: isDense ? CompressionPlan.None : plan);
                (isDense ? dense : compressed).Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
            }
        }
        dense.Sort();
        compressed.Sort();
        return dense[dense.Count / 2] / compressed[compressed.Count / 2];
    }

    public static string Describe(CompressionPlan p) =>
        $"{p.Metric} {p.Mode.ToString().ToLowerInvariant()} at {string.Join(",", p.PruneAt)} keep {p.Keep:0.##}{(p.Pooling == CompressionPooling.Frozen ? " frozen" : "")}";
}
