using RepShift.Vision;

namespace RepShift.Tests;

/// <summary>A plain double-precision ViT/DeiT forward pass, one image at a time, straight from the definitions.</summary>
internal static class ReferenceVit
{
    /// <summary>Logits of one preprocessed image [C, H, W]; <paramref name="mlpShift"/> receives ‖MLP(LN₂(h))‖ per token of the given layer.</summary>
    public static double[] Logits(ViTWeights w, float[] image, int shiftLayer = -1, double[]? mlpShift = null)
    {
        var c = w.Config;
        int d = c.Hidden, s = c.Tokens, special = c.SpecialTokens, g = c.GridSize, p = c.PatchSize, size = c.ImageSize;
        var x = new double[s, d];
        for (int j = 0; j < d; j++)
        {
            x[0, j] = w.ClsToken[j] + w.PositionEmbeddings[j];
            if (special == 2) x[1, j] = w.DistToken[j] + w.PositionEmbeddings[d + j];
        }
        for (int gy = 0; gy < g; gy++)
            for (int gx = 0; gx < g; gx++)
            {
                int t = special + gy * g + gx;
                for (int j = 0; j < d; j++)
                {
                    double v = w.PatchBias[j];
                    int k = 0;
                    for (int ch = 0; ch < c.Channels; ch++)
                        for (int py = 0; py < p; py++)
                            for (int px = 0; px < p; px++, k++)
                                v += image[(ch * size + gy * p + py) * size + gx * p + px] * (double)w.PatchWeight[k * d + j];
                    x[t, j] = v + w.PositionEmbeddings[t * d + j];
                }
            }
        for (int l = 0; l < c.Layers; l++)
        {
            var lw = w.Layers[l];
            var a = Norm(x, lw.Norm1Gamma, lw.Norm1Beta, c.LayerNormEps);
            var qkv = Linear(a, lw.QkvWeight, lw.QkvBias, d, 3 * d);
            var ctx = new double[s, d];
            int hd = c.HeadDim;
            for (int h = 0; h < c.Heads; h++)
                for (int i = 0; i < s; i++)
                {
                    var score = new double[s];
                    for (int j = 0; j < s; j++)
                    {
                        for (int e = 0; e < hd; e++) score[j] += qkv[i, h * hd + e] * qkv[j, d + h * hd + e];
                        score[j] /= Math.Sqrt(hd);
                    }
                    double max = score.Max(), sum = score.Sum(v => Math.Exp(v - max));
                    for (int j = 0; j < s; j++)
                        for (int e = 0; e < hd; e++) ctx[i, h * hd + e] += Math.Exp(score[j] - max) / sum * qkv[j, 2 * d + h * hd + e];
                }
            var attn = Linear(ctx, lw.ProjWeight, lw.ProjBias, d, d);
            for (int i = 0; i < s; i++)
                for (int j = 0; j < d; j++) x[i, j] += attn[i, j];
            var m = Norm(x, lw.Norm2Gamma, lw.Norm2Beta, c.LayerNormEps);
            var f = Linear(m, lw.Fc1Weight, lw.Fc1Bias, d, c.Intermediate);
            for (int i = 0; i < s; i++)
                for (int j = 0; j < c.Intermediate; j++) f[i, j] = 0.5 * f[i, j] * (1 + ReferenceMath.Erf(f[i, j] / Math.Sqrt(2)));
            var mlp = Linear(f, lw.Fc2Weight, lw.Fc2Bias, c.Intermediate, d);
            for (int i = 0; i < s; i++)
            {
                double n = 0;
                for (int j = 0; j < d; j++)
                {
                    n += mlp[i, j] * mlp[i, j];
                    x[i, j] += mlp[i, j];
                }
                if (l == shiftLayer && mlpShift != null) mlpShift[i] = Math.Sqrt(n);
            }
        }
        var final = Norm(x, w.NormGamma, w.NormBeta, c.LayerNormEps);
        var logits = new double[c.NumLabels];
        for (int k = 0; k < c.NumLabels; k++)
        {
            double v = w.HeadBias[k];
            for (int j = 0; j < d; j++) v += final[0, j] * w.HeadWeight[j * c.NumLabels + k];
            if (w.DistHeadWeight.Length > 0)
            {
                double u = w.DistHeadBias[k];
                for (int j = 0; j < d; j++) u += final[1, j] * w.DistHeadWeight[j * c.NumLabels + k];
                v = (v + u) / 2;
            }
            logits[k] = v;
        }
        return logits;
    }

    private static double[,] Norm(double[,] x, float[] gamma, float[] beta, float eps)
    {
        int rows = x.GetLength(0), d = x.GetLength(1);
        var y = new double[rows, d];
        for (int i = 0; i < rows; i++)
        {
            double mean = 0, variance = 0;
            for (int j = 0; j < d; j++) mean += x[i, j] / d;
            for (int j = 0; j < d; j++) variance += (x[i, j] - mean) * (x[i, j] - mean) / d;
            for (int j = 0; j < d; j++) y[i, j] = (x[i, j] - mean) / Math.Sqrt(variance + eps) * gamma[j] + beta[j];
        }
        return y;
    }

    private static double[,] Linear(double[,] x, float[] w, float[] b, int k, int n)
    {
        int rows = x.GetLength(0);
        var y = new double[rows, n];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < n; j++)
            {
                double v = b[j];
                for (int e = 0; e < k; e++) v += x[i, e] * w[e * n + j];
                y[i, j] = v;
            }
        return y;
    }
}
