using RepShift.Kernels;
using RepShift.Models;

namespace RepShift.Tests;

/// <summary>
/// A plain double-precision BERT forward pass for one sequence, written from the architecture's
/// definition, that keeps every intermediate: the reference for scorers and compression tests.
/// </summary>
internal static class ReferenceBert
{
    /// <summary>One layer's states: input x, attention branch a, h = LN(x + a), MLP branch m, output y = LN(h + m), attention probabilities p[head][i][j].</summary>
    public sealed record LayerTrace(double[][] X, double[][] A, double[][] H, double[][] M, double[][] Y, double[][][] P);

    public static List<LayerTrace> Run(BertWeights w, int[] ids)
    {
        var c = w.Config;
        int n = ids.Length, d = c.Hidden;
        var x = new double[n][];
        for (int i = 0; i < n; i++)
        {
            x[i] = new double[d];
            for (int j = 0; j < d; j++)
                x[i][j] = w.WordEmbeddings[ids[i] * d + j] + w.PositionEmbeddings[i * d + j] + (c.TypeVocabSize > 0 ? w.TokenTypeEmbeddings[j] : 0);
            x[i] = Norm(x[i], w.EmbeddingNormGamma, w.EmbeddingNormBeta, c.LayerNormEps);
        }
        var traces = new List<LayerTrace>();
        foreach (var l in w.Layers)
        {
            var q = Linear(x, QkvLayout.Part(l.QkvWeight, d, 0), l.QkvBias[..d], d, d);
            var k = Linear(x, QkvLayout.Part(l.QkvWeight, d, 1), l.QkvBias[d..(2 * d)], d, d);
            var v = Linear(x, QkvLayout.Part(l.QkvWeight, d, 2), l.QkvBias[(2 * d)..], d, d);
            int heads = c.Heads, hd = c.HeadDim;
            var ctx = Zeros(n, d);
            var p = new double[heads][][];
            for (int h = 0; h < heads; h++)
            {
                p[h] = new double[n][];
                for (int i = 0; i < n; i++)
                {
                    var s = new double[n];
                    for (int j = 0; j < n; j++)
                    {
                        for (int e = 0; e < hd; e++) s[j] += q[i][h * hd + e] * k[j][h * hd + e];
                        s[j] /= Math.Sqrt(hd);
                    }
                    double max = s.Max(), sum = 0;
                    for (int j = 0; j < n; j++) sum += s[j] = Math.Exp(s[j] - max);
                    for (int j = 0; j < n; j++) s[j] /= sum;
                    p[h][i] = s;
                    for (int j = 0; j < n; j++)
                        for (int e = 0; e < hd; e++) ctx[i][h * hd + e] += s[j] * v[j][h * hd + e];
                }
            }
            var a = Linear(ctx, l.AttentionOutputWeight, l.AttentionOutputBias, d, d);
            var hState = x.Select((row, i) => Norm(Add(row, a[i]), l.AttentionNormGamma, l.AttentionNormBeta, c.LayerNormEps)).ToArray();
            var f = Linear(hState, l.IntermediateWeight, l.IntermediateBias, d, c.Intermediate)
                .Select(row => row.Select(z => 0.5 * z * (1 + ReferenceMath.Erf(z / Math.Sqrt(2)))).ToArray()).ToArray();
            var m = Linear(f, l.OutputWeight, l.OutputBias, c.Intermediate, d);
            var y = hState.Select((row, i) => Norm(Add(row, m[i]), l.OutputNormGamma, l.OutputNormBeta, c.LayerNormEps)).ToArray();
            traces.Add(new LayerTrace(x, a, hState, m, y, p));
            x = y;
        }
        return traces;
    }

    public static double[] Add(double[] a, double[] b) => a.Select((v, i) => v + b[i]).ToArray();

    public static double L2(double[] v) => Math.Sqrt(v.Sum(z => z * z));

    private static double[][] Zeros(int n, int d) => Enumerable.Range(0, n).Select(_ => new double[d]).ToArray();

    private static double[][] Linear(double[][] x, float[] w, float[] b, int input, int output)
    {
        var y = Zeros(x.Length, output);
        for (int i = 0; i < x.Length; i++)
            for (int o = 0; o < output; o++)
            {
                double s = b[o];
                for (int j = 0; j < input; j++) s += x[i][j] * w[j * output + o];
                y[i][o] = s;
            }
        return y;
    }

    private static double[] Norm(double[] x, float[] gamma, float[] beta, float eps)
    {
        double mean = x.Average(), variance = x.Select(v => (v - mean) * (v - mean)).Average();
        return x.Select((v, j) => (v - mean) / Math.Sqrt(variance + eps) * gamma[j] + beta[j]).ToArray();
    }
}
