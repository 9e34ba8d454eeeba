using System.Numerics.Tensors;

namespace RepShift.Tests;

/// <summary>
/// Textbook attention in double precision, one query row at a time: the yardstick for both attention
/// kernels. Inputs use the kernels' packed layout (row t = token t, head h at columns h·d.., rows
/// <c>inputStride</c> apart); results are dense: output [T, heads·d], log-sum-exp [T·heads], per-key [T].
/// </summary>
internal static class ReferenceAttention
{
    public sealed record Result(double[] Output, double[] LogSumExp, double[] Received, double[] Cls);

    public static Result Run(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int[] seqStarts,
        int heads, int headDim, int inputStride, double scale, float[]? keyBias = null)
    {
        int tokens = seqStarts[^1], width = heads * headDim;
        // Dense double copies; dot products and row updates go through TensorPrimitives' double kernels,
        // which are optimised even when the tests are built in Debug (the 2048-token cases are ~10⁹ operations).
        double[] qd = ToDouble(q, tokens, width, inputStride), kd = ToDouble(k, tokens, width, inputStride), vd = ToDouble(v, tokens, width, inputStride);
        var output = new double[tokens * width];
        var lse = new double[tokens * heads];
        var received = new double[tokens];
        var cls = new double[tokens];
        for (int s = 0; s + 1 < seqStarts.Length; s++)
        {
            int start = seqStarts[s], n = seqStarts[s + 1] - start;
            var scores = new double[n];
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < n; i++)
                {
                    var qi = qd.AsSpan((start + i) * width + h * headDim, headDim);
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < n; j++)
                    {
                        double dot = TensorPrimitives.Dot(qi, kd.AsSpan((start + j) * width + h * headDim, headDim));
                        scores[j] = dot * scale + (keyBias == null ? 0 : keyBias[start + j]);
                        max = Math.Max(max, scores[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < n; j++) sum += Math.Exp(scores[j] - max);
                    lse[(start + i) * heads + h] = max + Math.Log(sum);
                    var row = output.AsSpan((start + i) * width + h * headDim, headDim);
                    for (int j = 0; j < n; j++)
                    {
                        double p = Math.Exp(scores[j] - max) / sum;
                        TensorPrimitives.MultiplyAdd(vd.AsSpan((start + j) * width + h * headDim, headDim), p, row, row);
                        received[start + j] += p / heads;
                        if (i == 0) cls[start + j] += p / heads;
                    }
                }
        }
        return new Result(output, lse, received, cls);
    }

    private static double[] ToDouble(ReadOnlySpan<float> x, int tokens, int width, int stride)
    {
        var d = new double[tokens * width];
        for (int t = 0; t < tokens; t++)
            for (int c = 0; c < width; c++) d[t * width + c] = x[t * stride + c];
        return d;
    }

    /// <summary>
    /// max |actual − expected| / max |expected| over all compared values (0 when both are all zero):
    /// the error relative to the tensor's scale, so values near zero are neither ignored nor blown up.
    /// </summary>
    public static double RelativeError(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs(actual[i] - expected[i]);
            if (double.IsNaN(diff)) return double.PositiveInfinity;
            maxDiff = Math.Max(maxDiff, diff);
            maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
        }
        return maxDiff == 0 ? 0 : maxDiff / maxRef;
    }

    /// <summary>The [T, heads·d] block of an output written at <paramref name="outputStride"/>, made dense.</summary>
    public static float[] Dense(float[] output, int tokens, int width, int outputStride)
    {
        var dense = new float[tokens * width];
        for (int t = 0; t < tokens; t++) output.AsSpan(t * outputStride, width).CopyTo(dense.AsSpan(t * width));
        return dense;
    }
}
