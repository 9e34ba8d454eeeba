using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using RepShift.Compression;
using RepShift.Vision;

namespace RepShift.Cli.Commands;

/// <summary>
/// <c>repshift eval images</c>: top-1 accuracy and images/s of the ViT model, dense or under a plan. With a plan,
/// dense runs too, in rounds that alternate the order (so both see the same machine state), and several
/// --metric values (comma-separated) make the scorer comparison table.
/// </summary>
internal static class EvalImagesCommand
{
    private sealed record Entry(string Name, CompressionPlan Plan)
    {
        public int Correct;
        public long TokenLayers;
        public double Seconds;
        public int TimedImages;
    }

    public static Command Create()
    {
        var common = new CommonOptions(images: true);
        var data = new Option<string>("--data") { Description = "IDX folder (t10k-images-idx3-ubyte[.gz] + labels; else train-…) or a folder with one sub-folder of images per class", Required = true };
        var limit = new Option<int?>("--limit") { Description = "Use only the first N images" }.Range(1);
        var rounds = new Option<int>("--rounds") { Description = "Timed passes over the data per plan (alternating order); accuracy is from the first", DefaultValueFactory = _ => 1 }.Range(1, 1_000_000);
        var json = new Option<bool>("--json") { Description = """One JSON object on stdout: {"images":N,"results":[{"plan":"dense","top1":0.9,"images_per_s":…,"speedup":1.0,"work":1.0},…]}""" };
        var command = new Command("images", $"""
            Top-1 accuracy and images/s of a ViT classifier (default: {VisionModel.DefaultFolder}) on labelled images,
            dense or under a compression plan; with a plan, dense is measured in the same run, alternating.
            --metric a,b,c compares scorers at the same plan.
            Example: repshift eval images --data /usr/share/datasets/fashion-mnist --prune-at 1 --keep 0.5 --metric shift-mlp,norm,random --rounds 2
            """);
        foreach (var o in new Option[] { data, limit, rounds, json }) command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(r =>
        {
            using var compute = common.CreateCompute(r);
            var weights = VisionModel.Load(r.GetValue(common.Model));
            var c = weights.Config;
            var encoder = new VitEncoder(weights, compute, r.GetValue(common.Attention));
            var set = ImageFolderReader.Read(r.GetValue(data)!, c);
            int count = Math.Min(set.Count, r.GetValue(limit) ?? int.MaxValue);
            if (count <= 0) throw new RepShiftException("--limit must be at least 1");
            int batch = r.GetValue(common.Batch), passes = Math.Max(1, r.GetValue(rounds));
            if (batch < 1) throw new RepShiftException("--batch must be at least 1");

            var entries = new List<Entry> { new("dense", CompressionPlan.None) };
            var basePlan = common.Plan(r);
            if (!basePlan.IsDense)
                foreach (string m in basePlan.Metric.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    var plan = basePlan with { Metric = m };
                    plan.Validate(c.Layers, "vit");
                    entries.Add(new(m, plan));
                }

            var inputs = new float[count][];
            for (int i = 0; i < count; i++)
            {
                inputs[i] = new float[encoder.ImageValues];
                ImagePreprocessor.Normalize(set.Image(i), c.ImageSize, c.Channels, c.ImageMean, c.ImageStd, inputs[i]);
            }
            var batches = Enumerable.Range(0, (count + batch - 1) / batch).Select(b => inputs[(b * batch)..Math.Min(count, (b + 1) * batch)]).ToArray();
            // Warm-up, untimed: a few batches per plan so every plan runs fully jitted (tiered JIT) with grown workspaces.
            foreach (var e in entries)
                foreach (var b in batches.Take(4)) encoder.Classify(b, e.Plan);

            int total = passes * entries.Count;
            Cli.WithProgress("evaluating", total, progress =>
            {
                int done = 0;
                for (int round = 0; round < passes; round++)
                    for (int j = 0; j < entries.Count; j++)
                    {
                        // Rotate the order each round so no plan always runs first.
                        var e = entries[(j + round) % entries.Count];
                        long t0 = Stopwatch.GetTimestamp();
                        int correct = 0;
                        long work = 0;
                        int offset = 0;
                        foreach (var b in batches)
                        {
                            var output = encoder.Classify(b, e.Plan);
                            for (int i = 0; i < b.Length; i++)
                            {
                                if (VisionModel.ArgMax(output.Logits[i]) == set.Labels[offset + i]) correct++;
                                work += output.TokenLayers[i];
                            }
                            offset += b.Length;
                        }
                        e.Seconds += Stopwatch.GetElapsedTime(t0).TotalSeconds;
                        e.TimedImages += count;
                        if (round == 0)
                        {
                            e.Correct = correct;
                            e.TokenLayers = work;
                        }
                        progress.Report(++done);
                    }
                return 0;
            });

            var dense = entries[0];
            double denseRate = dense.TimedImages / dense.Seconds;
            var results = entries.Select(e => new
            {
                plan = e.Name,
                top1 = e.Correct / (double)count,
                images_per_s = e.TimedImages / e.Seconds,
                speedup = e.TimedImages / e.Seconds / denseRate,
                work = e.TokenLayers / (double)dense.TokenLayers,
            }).ToList();
            if (r.GetValue(json))
                Cli.WriteJson(new { images = count, rounds = passes, batch, threads = compute.Threads, plan = basePlan.IsDense ? null : basePlan, results });
            else
            {
                if (!basePlan.IsDense)
                    Console.Out.WriteLine($"plan: --prune-at {string.Join(",", basePlan.PruneAt)} --keep {basePlan.Keep.ToString(CultureInfo.InvariantCulture)} --mode {(basePlan.Mode == ReduceMode.MergeProtect ? "merge-protect" : basePlan.Mode.ToString().ToLowerInvariant())}; {count} images, {passes} round(s), batch {batch}");
                Console.Out.WriteLine($"{"plan",-16} {"top-1",8} {"Δ top-1",8} {"images/s",10} {"speed-up",9} {"work",7}");
                foreach (var x in results)
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{x.plan,-16} {100 * x.top1,7:F2}% {100 * (x.top1 - results[0].top1),7:+0.00;-0.00;0.00} {x.images_per_s,10:F0} {x.speedup,8:F2}× {100 * x.work,6:F1}%"));
            }
            return 0;
        });
        return command;
    }
}
