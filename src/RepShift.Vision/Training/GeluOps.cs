using RepShift.Kernels;

namespace RepShift.Training;

/// <summary>Gradient of the exact GELU, x·Φ(x): dGELU/dx = Φ(x) + x·φ(x).</summary>
public static class GeluOps
{
    private const float InvSqrt2 = 0.70710678118654752f;
    private const float InvSqrt2Pi = 0.39894228040143268f;

    public static float Derivative(float x) => 0.5f * (1f + Activations.Erf(x * InvSqrt2)) + x * InvSqrt2Pi * MathF.Exp(-0.5f * x * x);

    /// <summary>d[i] ·= GELU'(pre[i]) over <paramref name="count"/> values, in parallel chunks.</summary>
    public static void Backward(ComputeContext compute, float[] pre, float[] d, int count)
    {
        const int chunk = 4096;
        compute.For((count + chunk - 1) / chunk, c =>
        {
            int end = Math.Min(count, c * chunk + chunk);
            for (int i = c * chunk; i < end; i++) d[i] *= Derivative(pre[i]);
        });
    }
}
