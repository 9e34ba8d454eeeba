using System.CommandLine;
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
            var options = VisionModel.Options(common, r);
            using var classifier = VisionModel.Load(r.GetValue(common.Model), options with { Compression = CompressionPlan.None });
            var set = ImageFolderReader.Read(r.GetValue(data)!, classifier.Config);
            int count = Math.Min(set.Count, r.GetValue(limit) ?? int.MaxValue);
            if (count <= 0) throw new RepShiftException("--limit must be at least 1");
            int passes = Math.Max(1, r.GetValue(rounds));

            var basePlan = options.Compression;
            var plans = new List<(string, CompressionPlan)> { ("dense", CompressionPlan.None) };
            if (!basePlan.IsDense)
                foreach (string m in basePlan.Metric.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    plans.Add((m, basePlan with { Metric = m }));
            var results = Cli.WithProgress("evaluating", passes * plans.Count, progress => ImageEvaluation.Run(classifier, set, count, plans, passes, progress));

            if (r.GetValue(json))
                Cli.WriteJson(new
                {
                    images = count,
                    rounds = passes,
                    batch = options.BatchSize,
                    threads = classifier.Compute.Threads,
                    plan = basePlan.IsDense ? null : basePlan,
                    results = results.Select(x => new { plan = x.Name, top1 = x.Top1, images_per_s = x.ImagesPerSecond, speedup = x.Speedup, work = x.Work }),
                });
            else
            {
                if (!basePlan.IsDense)
                    Console.Out.WriteLine($"plan: --prune-at {string.Join(",", basePlan.PruneAt)} --keep {basePlan.Keep.ToString(CultureInfo.InvariantCulture)} --mode {(basePlan.Mode == ReduceMode.MergeProtect ? "merge-protect" : basePlan.Mode.ToString().ToLowerInvariant())}; {count} images, {passes} round(s), batch {options.BatchSize}");
                Console.Out.WriteLine($"{"plan",-16} {"top-1",8} {"Δ top-1",8} {"images/s",10} {"speed-up",9} {"work",7}");
                foreach (var x in results)
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{x.Name,-16} {100 * x.Top1,7:F2}% {100 * (x.Top1 - results[0].Top1),7:+0.00;-0.00;0.00} {x.ImagesPerSecond,10:F0} {x.Speedup,8:F2}× {100 * x.Work,6:F1}%"));
            }
            return 0;
        });
        return command;
    }
}
