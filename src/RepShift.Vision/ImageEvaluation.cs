using System.Diagnostics;
using RepShift.Compression;

namespace RepShift.Vision;

/// <summary>One plan's top-1 accuracy, speed and work against the first plan of the run (the reference, usually dense).</summary>
public sealed record ImagePlanResult(string Name, CompressionPlan Plan, double Top1, double ImagesPerSecond, double Speedup, double Work);

/// <summary>
/// Top-1 accuracy and images/s of several plans on the same labelled images: after an untimed warm-up, the
/// plans run in rounds whose order rotates, so no plan always runs first; accuracy and work come from round one.
/// </summary>
public static class ImageEvaluation
{
    public static IReadOnlyList<ImagePlanResult> Run(ImageClassifier classifier, LabelledImages set, int count, IReadOnlyList<(string Name, CompressionPlan Plan)> plans, int rounds = 1, IProgress<int>? progress = null)
    {
        if (count < 1 || count > set.Count) throw new RepShiftException($"count {count} is out of range: the set has {set.Count} images");
        if (plans.Count == 0) throw new ArgumentException("no plan to evaluate", nameof(plans));
        rounds = Math.Max(1, rounds);
        var checkedPlans = plans.Select(p => classifier.Checked(p.Plan)).ToArray();
        var inputs = new float[count][];
        for (int i = 0; i < count; i++) inputs[i] = classifier.Normalize(set.Image(i));
        var batches = new List<float[][]>();
        for (int start = 0; start < count; start += classifier.Options.BatchSize) batches.Add(classifier.Batch(inputs, start));
        // Warm-up, untimed: a few batches per plan so every plan runs fully jitted (tiered JIT) with grown workspaces.
        foreach (var plan in checkedPlans)
            foreach (var b in batches.Take(4)) classifier.ClassifyBatch(b, plan);

        var correct = new int[plans.Count];
        var work = new long[plans.Count];
        var seconds = new double[plans.Count];
        var timed = new int[plans.Count];
        int done = 0;
        for (int round = 0; round < rounds; round++)
            for (int j = 0; j < plans.Count; j++)
            {
                int e = (j + round) % plans.Count;
                long t0 = Stopwatch.GetTimestamp();
                int right = 0;
                long layers = 0;
                int offset = 0;
                foreach (var b in batches)
                {
                    var output = classifier.ClassifyBatch(b, checkedPlans[e]);
                    for (int i = 0; i < b.Length; i++)
                    {
                        if (ArgMax(output.Logits[i]) == set.Labels[offset + i]) right++;
                        layers += output.TokenLayers[i];
                    }
                    offset += b.Length;
                }
                seconds[e] += Stopwatch.GetElapsedTime(t0).TotalSeconds;
                timed[e] += count;
                if (round == 0)
                {
                    correct[e] = right;
                    work[e] = layers;
                }
                progress?.Report(++done);
            }

        double referenceRate = timed[0] / seconds[0];
        return [.. Enumerable.Range(0, plans.Count).Select(e => new ImagePlanResult(
            plans[e].Name, checkedPlans[e], correct[e] / (double)count, timed[e] / seconds[e], timed[e] / seconds[e] / referenceRate, work[e] / (double)work[0]))];
    }

    private static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++)
            if (v[i] > v[best]) best = i;
        return best;
    }
}
