namespace RepShift.Training;

/// <summary>
/// Mean softmax cross-entropy over a batch of logits and its gradient, optionally against label-smoothed
/// targets q = (1 − ε)·one-hot + ε/K (ε = 0: plain cross-entropy).
/// </summary>
public static class CrossEntropy
{
    public static float Loss(ReadOnlySpan<float> logits, int batch, int classes, ReadOnlySpan<int> labels, float smoothing = 0)
    {
        CheckSmoothing(smoothing);
        double total = 0;
        for (int b = 0; b < batch; b++)
        {
            var row = logits.Slice(b * classes, classes);
            int y = labels[b];
            if ((uint)y >= (uint)classes) throw new ArgumentException($"label {y} is outside [0, {classes})");
            double target = (1 - smoothing) * row[y];
            if (smoothing > 0)
            {
                double sum = 0;
                foreach (float v in row) sum += v;
                target += smoothing * sum / classes;
            }
            total += LogSumExp(row) - target;
        }
        return (float)(total / batch);
    }

    /// <summary>d loss / d logits = (softmax − q) / batch.</summary>
    public static void Gradient(ReadOnlySpan<float> logits, int batch, int classes, ReadOnlySpan<int> labels, Span<float> grad, float smoothing = 0)
    {
        CheckSmoothing(smoothing);
        float off = smoothing / classes, on = 1 - smoothing + off;
        for (int b = 0; b < batch; b++)
        {
            var row = logits.Slice(b * classes, classes);
            float lse = LogSumExp(row);
            for (int j = 0; j < classes; j++) grad[b * classes + j] = (MathF.Exp(row[j] - lse) - (j == labels[b] ? on : off)) / batch;
        }
    }

    private static void CheckSmoothing(float smoothing)
    {
        if (!(smoothing >= 0 && smoothing < 1)) throw new ArgumentOutOfRangeException(nameof(smoothing), smoothing, "label smoothing must be in [0, 1)");
    }

    private static float LogSumExp(ReadOnlySpan<float> row)
    {
        float max = float.NegativeInfinity;
        foreach (float v in row) max = MathF.Max(max, v);
        double sum = 0;
        foreach (float v in row) sum += Math.Exp(v - max);
        return max + (float)Math.Log(sum);
    }
}
