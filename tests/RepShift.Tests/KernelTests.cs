using RepShift.Kernels;

namespace RepShift.Tests;

/// <summary>GEMM, GELU/erf and LayerNorm against plain double-precision references.</summary>
public class KernelTests
{
    /// <summary>
    /// Tolerance: |c − ref| ≤ 1e-5 · Σₖ|aᵢₖ·bₖⱼ| + 1e-6, i.e. fp32 accumulation error relative to the
    /// magnitude of the terms summed (not of the possibly cancelled result). Checked for each kernel the
    /// CPU has (AVX2 6×16, and AVX-512 12×32 where available).
    /// </summary>
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(5, 3, 15)]
    [InlineData(6, 16, 16)]
    [InlineData(7, 17, 17)]
    [InlineData(13, 384, 33)]
    [InlineData(50, 64, 384)]
    [InlineData(97, 1536, 48)]
    public void GemmMatchesReference(int m, int k, int n)
    {
        var rng = new Random(m * 1000 + k * 10 + n);
        var a = Random(rng, m * k);
        var b = Random(rng, k * n);
        var bias = Random(rng, n);
        var residual = Random(rng, m * n);
        var packed = PackedMatrix.Pack(b, k, n);

        foreach (bool avx512 in Kernels())
            foreach (var (act, useBias, useResidual) in new[] { (Activation.None, false, false), (Activation.None, true, true), (Activation.Gelu, true, false) })
            {
                var c = new float[m * n];
                WithKernel(avx512, compute => Gemm.Multiply(compute, a, m, packed, useBias ? bias : default, c, act, useResidual ? residual : default));
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                    {
                        double sum = 0, magnitude = 0;
                        for (int p = 0; p < k; p++)
                        {
                            sum += (double)a[i * k + p] * b[p * n + j];
                            magnitude += Math.Abs((double)a[i * k + p] * b[p * n + j]);
                        }
                        if (useBias) sum += bias[j];
                        if (useResidual) sum += residual[i * n + j];
                        if (act == Activation.Gelu) sum = 0.5 * sum * (1 + ReferenceMath.Erf(sum / Math.Sqrt(2)));
                        double tolerance = 1e-5 * (magnitude + 1) + 1e-6;
                        Assert.True(Math.Abs(c[i * n + j] - sum) <= tolerance, $"[{i},{j}] {act}: {c[i * n + j]} vs {sum}");
                    }
            }
    }

    [Fact]
    public void GemmKernelsAgreeBitForBit()
    {
        // Both kernels add each output's products in k order and share the epilogue, so training and
        // inference give the same numbers on machines with and without AVX-512.
        var rng = new Random(5);
        foreach (var (m, k, n) in new[] { (1, 384, 384), (13, 384, 1536), (50, 1536, 384), (97, 37, 80), (7, 33, 20) })
        {
            var a = Random(rng, m * k);
            var packed = PackedMatrix.Pack(Random(rng, k * n), k, n);
            var bias = Random(rng, n);
            var results = Kernels().Select(avx512 =>
            {
                var c = new float[m * n];
                WithKernel(avx512, compute => Gemm.Multiply(compute, a, m, packed, bias, c, Activation.Gelu));
                return c;
            }).ToList();
            var reference = new float[m * n];
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    float sum = 0;
                    for (int p = 0; p < k; p++) sum = MathF.FusedMultiplyAdd(a[i * k + p], packed.Data[(j / 16) * k * 16 + p * 16 + j % 16], sum);
                    reference[i * n + j] = sum;
                }
            // The epilogue is shared; compare the kernels with each other and, for the products, with a
            // scalar fused multiply-add chain in k order (no bias/GELU): one more pass without the epilogue.
            foreach (var c in results) Assert.Equal(results[0], c);
            foreach (bool avx512 in Kernels())
            {
                var raw = new float[m * n];
                WithKernel(avx512, compute => Gemm.Multiply(compute, a, m, packed, default, raw));
                Assert.Equal(reference, raw);
            }
        }
    }

    private static IEnumerable<bool> Kernels() => ComputeContext.Avx512Available ? [false, true] : [false];

    private static void WithKernel(bool avx512, Action<ComputeContext> action)
    {
        using var compute = new ComputeContext(2, avx512 ? GemmKernel.Avx512 : GemmKernel.Avx2);
        action(compute);
    }

    [Fact]
    public void GemmRowDoesNotDependOnItsPositionInTheBatch()
    {
        var rng = new Random(3);
        const int k = 40, n = 24;
        var packed = PackedMatrix.Pack(Random(rng, k * n), k, n);
        var bias = Random(rng, n);
        var a = Random(rng, 13 * k);
        var all = new float[13 * n];
        Gemm.Multiply(TestCompute.Shared, a, 13, packed, bias, all, Activation.Gelu);
        for (int row = 0; row < 13; row++)
        {
            var one = new float[n];
            Gemm.Multiply(TestCompute.Shared, a.AsSpan(row * k, k), 1, packed, bias, one, Activation.Gelu);
            Assert.Equal(all.AsSpan(row * n, n).ToArray(), one);
        }
    }

    [Fact]
    public void GemmRejectsMismatchedShapes()
    {
        var packed = PackedMatrix.Pack(new float[12], 3, 4);
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(TestCompute.Shared, new float[5], 2, packed, default, new float[8]));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(TestCompute.Shared, new float[6], 2, packed, new float[3], new float[8]));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(TestCompute.Shared, new float[6], 2, packed, default, new float[7]));
        Assert.Throws<ArgumentException>(() => PackedMatrix.Pack(new float[11], 3, 4));
    }

    [Fact]
    public void PackTransposedEqualsPackOfTranspose()
    {
        var rng = new Random(5);
        var outByIn = Random(rng, 7 * 19);
        var t = new float[19 * 7];
        for (int o = 0; o < 7; o++)
            for (int i = 0; i < 19; i++) t[i * 7 + o] = outByIn[o * 19 + i];
        var a = Random(rng, 3 * 19);
        var c1 = new float[21];
        var c2 = new float[21];
        Gemm.Multiply(TestCompute.Shared, a, 3, PackedMatrix.PackTransposed(outByIn, 7, 19), default, c1);
        Gemm.Multiply(TestCompute.Shared, a, 3, PackedMatrix.Pack(t, 19, 7), default, c2);
        Assert.Equal(c2, c1);
    }

    /// <summary>erf: Abramowitz &amp; Stegun 7.1.26 promises |error| ≤ 1.5e-7; allow 3e-7 for fp32 rounding.</summary>
    [Fact]
    public void ErfAndGeluMatchReference()
    {
        for (double x = -6; x <= 6; x += 0.01)
        {
            float xf = (float)x;
            Assert.True(Math.Abs(Activations.Erf(xf) - ReferenceMath.Erf(xf)) <= 3e-7, $"erf({xf})");
            double gelu = 0.5 * xf * (1 + ReferenceMath.Erf(xf / Math.Sqrt(2)));
            Assert.True(Math.Abs(Activations.Gelu(xf) - gelu) <= 3e-7 * Math.Max(1, Math.Abs(xf)), $"gelu({xf})");
        }
        var values = Enumerable.Range(-300, 601).Select(i => i * 0.02f).ToArray();
        var vector = (float[])values.Clone();
        Activations.Gelu(vector);
        for (int i = 0; i < values.Length; i++)
            Assert.True(Math.Abs(vector[i] - Activations.Gelu(values[i])) <= 1e-6, $"vector gelu({values[i]})");
    }

    /// <summary>LayerNorm: |y − ref| ≤ 1e-5 with a double-precision mean and variance.</summary>
    [Fact]
    public void LayerNormMatchesReference()
    {
        var rng = new Random(9);
        const int dim = 384;
        var x = Random(rng, 5 * dim, scale: 10);
        for (int j = 0; j < dim; j++) x[j] += 100; // a large offset tests the two-pass variance
        var gamma = Random(rng, dim);
        var beta = Random(rng, dim);
        var y = (float[])x.Clone();
        LayerNorm.Apply(y, dim, gamma, beta, 1e-12f);
        for (int r = 0; r < 5; r++)
        {
            var row = x.AsSpan(r * dim, dim).ToArray().Select(v => (double)v).ToArray();
            double mean = row.Average(), variance = row.Select(v => (v - mean) * (v - mean)).Average();
            for (int j = 0; j < dim; j++)
            {
                double expected = (row[j] - mean) / Math.Sqrt(variance + 1e-12) * gamma[j] + beta[j];
                Assert.True(Math.Abs(y[r * dim + j] - expected) <= 1e-5, $"[{r},{j}] {y[r * dim + j]} vs {expected}");
            }
        }
    }

    internal static float[] Random(Random rng, int n, float scale = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return a;
    }
}

/// <summary>A row's result must not depend on its address: the same values at every float offset give the same bits.</summary>
public class AlignmentInvarianceTests
{
    [Fact]
    public void ReductionsAndLayerNormIgnoreTheAddress()
    {
        var rng = new Random(21);
        const int dim = 384;
        var values = KernelTests.Random(rng, dim, scale: 3);
        var gamma = KernelTests.Random(rng, dim);
        var beta = KernelTests.Random(rng, dim);
        float[]? firstNorm = null;
        float? firstSum = null, firstDot = null;
        for (int offset = 0; offset < 8; offset++)
        {
            var buffer = new float[dim + 8];
            values.CopyTo(buffer, offset);
            var row = buffer.AsSpan(offset, dim);
            float sum = Kernels.Reductions.Sum(row), dot = Kernels.Reductions.Dot(row, gamma);
            Kernels.LayerNorm.ApplyRow(row, gamma, beta, 1e-12f);
            firstSum ??= sum;
            firstDot ??= dot;
            firstNorm ??= row.ToArray();
            Assert.Equal(firstSum.Value, sum);
            Assert.Equal(firstDot.Value, dot);
            Assert.Equal(firstNorm, row.ToArray());
        }
        Assert.Equal(values.Select(v => (double)v).Sum(), firstSum!.Value, 3);
    }
}
