using System.Numerics.Tensors;
using RepShift.Kernels;

namespace RepShift.Evaluation;

/// <summary>How closely compressed embeddings follow the dense ones, label-free.</summary>
/// <param name="MeanCosine">Mean cosine between each text's compressed and dense embedding.</param>
/// <param name="MinCosine">The smallest of those cosines.</param>
/// <param name="Knn10Overlap">Mean share of each text's 10 nearest neighbours (by cosine, among the other texts) that compression leaves unchanged.</param>
public sealed record FidelityResult(double MeanCosine, double MinCosine, double Knn10Overlap);

/// <summary>Label-free fidelity of a compression plan: computable on any corpus a user has.</summary>
public static class Fidelity
{
    public static FidelityResult Measure(float[][] dense, float[][] compressed, int k = 10)
    {
        if (dense.Length != compressed.Length) throw new ArgumentException("dense and compressed must hold the same texts");
        int n = dense.Length;
        if (n == 0) throw new RepShiftException("fidelity needs at least one text");
        double sum = 0, min = double.MaxValue;
        for (int i = 0; i < n; i++)
        {
            double c = TensorPrimitives.CosineSimilarity(dense[i], compressed[i]);
            sum += c;
            min = Math.Min(min, c);
        }
        int kk = Math.Min(k, n - 1);
        double overlap = 1;
        if (kk > 0)
        {
            var shares = new double[n];
            Parallel.For(0, n, i =>
            {
                var a = Nearest(dense, i, kk);
                var b = Nearest(compressed, i, kk);
                shares[i] = a.Intersect(b).Count() / (double)kk;
            });
            overlap = shares.Average();
        }
        return new FidelityResult(sum / n, min, overlap);
    }

    /// <summary>Indices of the <paramref name="k"/> texts most similar to text <paramref name="i"/> (ties by index).</summary>
    private static int[] Nearest(float[][] vectors, int i, int k)
    {
        var sims = new (float Sim, int Index)[vectors.Length - 1];
        int w = 0;
        for (int j = 0; j < vectors.Length; j++)
            if (j != i) sims[w++] = (TensorPrimitives.CosineSimilarity(vectors[i], vectors[j]), j);
        Array.Sort(sims, (x, y) => x.Sim != y.Sim ? y.Sim.CompareTo(x.Sim) : x.Index.CompareTo(y.Index));
        return [.. sims.Take(k).Select(s => s.Index)];
    }
}
