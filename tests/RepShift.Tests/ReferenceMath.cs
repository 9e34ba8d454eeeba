namespace RepShift.Tests;

/// <summary>Double-precision references used by kernel tests.</summary>
internal static class ReferenceMath
{
    /// <summary>erf by its Maclaurin series (|x| &lt; 3) or continued fraction of erfc (|x| ≥ 3); accurate to ~1e-13.</summary>
    public static double Erf(double x)
    {
        double ax = Math.Abs(x);
        double result;
        if (ax < 3)
        {
            // erf(x) = 2/√π Σ (−1)ⁿ x^(2n+1) / (n! (2n+1))
            double term = ax, sum = ax;
            for (int n = 1; n < 200; n++)
            {
                term *= -ax * ax / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17) break;
            }
            result = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            // erfc(x) = e^(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …))))
            double f = ax;
            for (int n = 60; n >= 1; n--) f = ax + n / 2.0 / f;
            result = 1 - Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / f;
        }
        return Math.CopySign(result, x);
    }
}
