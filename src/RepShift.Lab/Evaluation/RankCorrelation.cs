namespace RepShift.Evaluation;

/// <summary>Spearman's rank correlation, computed as the Pearson correlation of ranks so that ties are handled exactly.</summary>
public static class RankCorrelation
{
    /// <summary>Spearman's ρ in [−1, 1]; tied values share their average rank.</summary>
    public static double Spearman(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        if (x.Length != y.Length) throw new ArgumentException($"the two series differ in length ({x.Length} and {y.Length})");
        return Pearson(Ranks(x), Ranks(y));
    }

    /// <summary>1-based ranks of <paramref name="values"/> in ascending order; each group of equal values gets the mean of the ranks it spans.</summary>
    public static double[] Ranks(ReadOnlySpan<double> values)
    {
        var order = new int[values.Length];
        var keys = new double[values.Length];
        for (int i = 0; i < order.Length; i++)
        {
            if (double.IsNaN(values[i])) throw new ArgumentException($"value {i} is NaN and cannot be ranked");
            order[i] = i;
            keys[i] = values[i];
        }
        Array.Sort(keys, order);
        var ranks = new double[values.Length];
        for (int start = 0; start < order.Length;)
        {
            int end = start + 1;
            while (end < order.Length && keys[end] == keys[start]) end++;
            // Positions start..end-1 hold equal values: ranks start+1..end, whose mean is (start+1+end)/2.
            double rank = (start + 1 + end) / 2.0;
            for (int i = start; i < end; i++) ranks[order[i]] = rank;
            start = end;
        }
        return ranks;
    }

    /// <summary>Pearson's r in [−1, 1]; undefined (an error) when either series is constant.</summary>
    public static double Pearson(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        if (x.Length != y.Length) throw new ArgumentException($"the two series differ in length ({x.Length} and {y.Length})");
        if (x.Length < 2) throw new RepShiftException($"a correlation needs at least 2 pairs, got {x.Length}");
        double mx = Mean(x), my = Mean(y);
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double dx = x[i] - mx, dy = y[i] - my;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        if (sxx == 0 || syy == 0) throw new RepShiftException("the correlation is undefined: all values of one series are equal");
        return Math.Clamp(sxy / Math.Sqrt(sxx * syy), -1, 1);
    }

    private static double Mean(ReadOnlySpan<double> values)
    {
        double sum = 0;
        foreach (double v in values) sum += v;
        return sum / values.Length;
    }
}
