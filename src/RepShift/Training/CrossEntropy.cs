namespace RepShift.Training;

/// <summary>Mean softmax cross-entropy over a batch of logits and its gradient.</summary>
public static class CrossEntropy
{
    public static float Loss(ReadOnlySpan<float> logits, int batch, int classes, ReadOnlySpan<int> labels)
    {
        double total = 0;
        for (int b = 0; b < batch; b++)
        {
            var row = logits.Slice(b * classes, classes);
            int y = labels[b];
            if ((uint)y >= (uint)classes) throw new ArgumentException($"label {y} is outside [0, {classes})");
            total += LogSumExp(row) - row[y];
        }
        return (float)(total / batch);
    }

    /// <summary>d loss / d logits = (softmax − one-hot) / batch.</summary>
    public static void Gradient(ReadOnlySpan<float> logits, int batch, int classes, ReadOnlySpan<int> labels, Span<float> grad)
    {
        for (int b = 0; b < batch; b++)
        {
            var row = logits.Slice(b * classes, classes);
            float lse = LogSumExp(row);
            for (int j = 0; j < classes; j++) grad[b * classes + j] = (MathF.Exp(row[j] - lse) - (j == labels[b] ? 1f : 0f)) / batch;
        }
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
