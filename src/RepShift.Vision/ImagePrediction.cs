namespace RepShift.Vision;

/// <summary>One label and its softmax probability.</summary>
public sealed record LabelProbability(int Index, string Label, float Probability);

/// <summary>One image's logits, its most likely label and the token rows its layers processed.</summary>
public sealed record ImagePrediction(float[] Logits, int TokenLayers, ViTConfig Config)
{
    /// <summary>Index of the largest logit (the first on ties).</summary>
    public int Best
    {
        get
        {
            int best = 0;
            for (int i = 1; i < Logits.Length; i++)
                if (Logits[i] > Logits[best]) best = i;
            return best;
        }
    }

    public string Label => Config.Label(Best);

    /// <summary>The <paramref name="k"/> most likely labels, most likely first.</summary>
    public IReadOnlyList<LabelProbability> Top(int k)
    {
        float max = Logits.Max();
        var e = Logits.Select(v => MathF.Exp(v - max)).ToArray();
        float sum = e.Sum();
        return [.. Enumerable.Range(0, e.Length).OrderByDescending(i => e[i]).Take(Math.Max(1, k)).Select(i => new LabelProbability(i, Config.Label(i), e[i] / sum))];
    }
}
