using MathNet.Numerics.LinearAlgebra;
using RepShift.Embeddings;

namespace RepShift.Evaluation;

/// <summary>
/// Calibrates a <see cref="BinaryProjection"/> on a corpus by iterative quantization (ITQ; Gong &amp; Lazebnik,
/// "Iterative Quantization: A Procrustean Approach to Learning Binary Codes", CVPR 2011): with the vectors centred
/// (V, n × D), find the orthogonal Q that minimises ‖B − V·Q‖² over codes B ∈ {−1, +1}^(n×D). Alternate: B = sign(V·Q)
/// for fixed Q; then Q = U·Wᵀ from the SVD Vᵀ·B = U·S·Wᵀ (orthogonal Procrustes) for fixed B. Neither step can raise
/// the error, so it falls monotonically from a random rotation. The projection's rows are Q's columns, and each
/// bit's threshold is the median of its rotated coordinate over the corpus, so every bit splits the corpus in half.
/// </summary>
public static class IterativeQuantization
{
    /// <summary>Alternations by default; the paper uses 50, and the error has mostly settled by then.</summary>
    public const int DefaultIterations = 50;

    /// <summary>The projection and ‖B − V·Q‖² before the first step and after each (for tests and diagnostics).</summary>
    public sealed record Result(BinaryProjection Projection, IReadOnlyList<double> Errors);

    /// <summary>Learns the projection from <paramref name="vectors"/> (all of one model and dimension count).</summary>
    /// <param name="model">The model the vectors come from, recorded in the projection.</param>
    /// <param name="vectors">The corpus, truncated to the dimension count the projection will serve.</param>
    /// <param name="iterations">Alternations (<see cref="DefaultIterations"/>).</param>
    /// <param name="seed">Seed of the starting rotation: the same vectors and seed give the same projection.</param>
    /// <param name="progress">Iterations done.</param>
    public static Result Calibrate(string model, IReadOnlyList<float[]> vectors, int iterations = DefaultIterations, int seed = 0, IProgress<int>? progress = null)
    {
        if (vectors.Count == 0) throw new ArgumentException("calibrating a binary projection needs at least one vector");
        ArgumentOutOfRangeException.ThrowIfNegative(iterations);
        int n = vectors.Count, dim = vectors[0].Length;
        for (int i = 0; i < n; i++)
        {
            if (vectors[i].Length != dim) throw new ArgumentException($"vector {i} has {vectors[i].Length} dimensions, the first has {dim}");
            if (!vectors[i].All(float.IsFinite)) throw new ArgumentException($"vector {i} holds a non-finite value");
        }
        var v = Matrix<double>.Build.Dense(n, dim, (i, d) => vectors[i][d]);
        var mean = v.ColumnSums() / n;
        for (int i = 0; i < n; i++) v.SetRow(i, v.Row(i) - mean);
        var vt = v.Transpose();

        var q = RandomRotation(dim, seed);
        var errors = new List<double>(iterations + 1);
        for (int it = 0; ; it++)
        {
            var projected = v * q;
            var codes = projected.Map(x => x > 0 ? 1.0 : -1.0);
            double error = (codes - projected).FrobeniusNorm();
            errors.Add(error * error);
            if (it == iterations) break;
            var svd = (vt * codes).Svd(computeVectors: true);
            q = svd.U * svd.VT;
            progress?.Report(it + 1);
        }

        var rotation = new float[dim][];
        for (int d = 0; d < dim; d++) rotation[d] = [.. q.Column(d).Select(x => (float)x)];
        return new Result(new BinaryProjection(model, rotation, MedianThresholds(d => rotation[d], dim, vectors), n), errors);
    }

    /// <summary>
    /// <paramref name="projection"/> with query thresholds: for each bit the median of its rotated coordinate over
    /// <paramref name="queries"/> (vectors of queries, with the query prompt, truncated like the documents), so query bits
    /// split the queries in half as document bits split the documents (see <see cref="BinaryProjection.QueryThresholds"/>).
    /// </summary>
    public static BinaryProjection WithQueryThresholds(BinaryProjection projection, IReadOnlyList<float[]> queries)
    {
        if (queries.Count == 0) throw new ArgumentException("query thresholds need at least one query");
        for (int i = 0; i < queries.Count; i++)
            if (queries[i].Length != projection.Dimension) throw new ArgumentException($"query {i} has {queries[i].Length} dimensions, the projection {projection.Dimension}");
        return projection.WithQueryThresholds(MedianThresholds(d => projection.Row(d).ToArray(), projection.Dimension, queries), queries.Count);
    }

    /// <summary>For each of <paramref name="dim"/> rows, the median of the row's dot product with every vector: the threshold that halves them.</summary>
    private static float[] MedianThresholds(Func<int, float[]> row, int dim, IReadOnlyList<float[]> vectors)
    {
        var thresholds = new float[dim];
        var coordinate = new float[vectors.Count];
        for (int d = 0; d < dim; d++)
        {
            var r = row(d);
            for (int i = 0; i < vectors.Count; i++) coordinate[i] = System.Numerics.Tensors.TensorPrimitives.Dot(r, vectors[i]);
            thresholds[d] = Median(coordinate);
        }
        return thresholds;
    }

    /// <summary>An orthogonal matrix from the QR decomposition of a Gaussian one (Box–Muller from a seeded generator).</summary>
    private static Matrix<double> RandomRotation(int dim, int seed)
    {
        var random = new Random(seed);
        double Gaussian() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var g = Matrix<double>.Build.Dense(dim, dim);
        for (int i = 0; i < dim; i++)
            for (int j = 0; j < dim; j++) g[i, j] = Gaussian();
        return g.QR().Q;
    }

    private static float Median(float[] values)
    {
        var sorted = (float[])values.Clone();
        Array.Sort(sorted);
        int m = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
    }
}
