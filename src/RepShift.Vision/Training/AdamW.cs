using System.Numerics.Tensors;

namespace RepShift.Training;

/// <summary>
/// AdamW (decoupled weight decay, bias-corrected moments) over the parameter list of a model, with
/// optional clipping of the global gradient norm.
/// </summary>
public sealed class AdamW
{
    private readonly Kernels.ComputeContext _compute;
    private readonly (float[] Param, float[] Grad, bool Decay)[] _params;
    private readonly float[][] _m, _v;
    private int _step;

    public AdamW(IEnumerable<(float[] Param, float[] Grad, bool Decay)> parameters, Kernels.ComputeContext compute)
    {
        _compute = compute;
        _params = [.. parameters];
        _m = [.. _params.Select(p => new float[p.Param.Length])];
        _v = [.. _params.Select(p => new float[p.Param.Length])];
    }

    public float Beta1 { get; init; } = 0.9f;
    public float Beta2 { get; init; } = 0.999f;
    public float Epsilon { get; init; } = 1e-8f;
    public float WeightDecay { get; init; } = 0.05f;

    /// <summary>Gradients are scaled down to this global L2 norm when above it; 0 turns clipping off.</summary>
    public float ClipNorm { get; init; } = 1f;

    /// <summary>One update at learning rate <paramref name="lr"/>; returns the gradient norm before clipping.</summary>
    public float Step(float lr)
    {
        _step++;
        double sq = 0;
        foreach (var p in _params) sq += TensorPrimitives.SumOfSquares(p.Grad);
        float norm = (float)Math.Sqrt(sq);
        float clip = ClipNorm > 0 && norm > ClipNorm ? ClipNorm / norm : 1f;
        float c1 = 1f - MathF.Pow(Beta1, _step), c2 = 1f - MathF.Pow(Beta2, _step);
        _compute.For(_params.Length, i =>
        {
            var (param, grad, decay) = _params[i];
            float[] m = _m[i], v = _v[i];
            float shrink = decay ? 1f - lr * WeightDecay : 1f;
            for (int j = 0; j < param.Length; j++)
            {
                float g = grad[j] * clip;
                m[j] = Beta1 * m[j] + (1 - Beta1) * g;
                v[j] = Beta2 * v[j] + (1 - Beta2) * g * g;
                float mh = m[j] / c1, vh = v[j] / c2;
                param[j] = param[j] * shrink - lr * mh / (MathF.Sqrt(vh) + Epsilon);
            }
        });
        return norm;
    }
}

/// <summary>Linear warm-up from 0 to the peak rate, then cosine decay to <see cref="MinRate"/>.</summary>
public sealed record LearningRateSchedule(float Peak, int WarmupSteps, int TotalSteps)
{
    public float MinRate { get; init; } = 1e-5f;

    public float At(int step)
    {
        if (step < WarmupSteps) return Peak * (step + 1) / WarmupSteps;
        double progress = Math.Min(1.0, (step - WarmupSteps) / (double)Math.Max(1, TotalSteps - WarmupSteps));
        return MinRate + (Peak - MinRate) * (float)(0.5 * (1 + Math.Cos(Math.PI * progress)));
    }
}
