using RepShift.Evaluation;

namespace RepShift.Cli.Commands;

/// <summary>Quality (BBC MRR@10) against measured speed for every swept plan, the Pareto front marked, dense and ONNX Runtime as reference points.</summary>
internal static class SweepPlot
{
    public static void Draw(IReadOnlyList<SweepRow> rows, double? ortSpeed, SweepRow? balanced, SweepRow? fast, string path)
    {
        var points = rows.Skip(1).Where(r => r.Speedup != null && r.Mrr10 != null).ToList();
        var plt = new ScottPlot.Plot();
        var all = plt.Add.Markers(points.Select(p => p.Speedup!.Value).ToArray(), points.Select(p => p.Mrr10!.Value).ToArray());
        all.LegendText = "compression plans";
        // Pareto front: no other plan is both faster and better.
        var front = points.Where(p => !points.Any(q => q.Speedup > p.Speedup && q.Mrr10 >= p.Mrr10 || q.Speedup >= p.Speedup && q.Mrr10 > p.Mrr10))
            .OrderBy(p => p.Speedup).ToList();
        if (front.Count > 0)
        {
            var line = plt.Add.Scatter(front.Select(p => p.Speedup!.Value).ToArray(), front.Select(p => p.Mrr10!.Value).ToArray());
            line.LegendText = "Pareto front";
        }
        double denseMrr = rows[0].Mrr10 ?? 0;
        var dense = plt.Add.Markers(new[] { 1.0 }, new[] { denseMrr });
        dense.MarkerSize = 12;
        dense.LegendText = "dense RepShift";
        if (ortSpeed is double o)
        {
            var ort = plt.Add.Markers(new[] { o }, new[] { denseMrr });
            ort.MarkerSize = 12;
            ort.LegendText = "ONNX Runtime";
        }
        foreach (var (name, row) in new[] { ("balanced", balanced), ("fast", fast) })
            if (row?.Speedup is double x && row.Mrr10 is double y) plt.Add.Text(name, x, y);
        plt.Title("all-MiniLM-L6-v2: BBC headline → article retrieval vs speed");
        plt.XLabel("speed over dense RepShift on the BBC texts (×)");
        plt.YLabel("MRR@10");
        plt.ShowLegend();
        plt.SavePng(path, 1000, 650);
    }
}
