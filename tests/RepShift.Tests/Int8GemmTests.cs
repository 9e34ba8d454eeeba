using RepShift.Kernels;

namespace RepShift.Tests;

/// <summary>
/// The int8 GEMM: each kernel the machine runs, forced in turn, against plain scalar references — exact int32
/// sums on the same quantized integers, the dequantized output within fp32 rounding, and the quantization
/// error against the fp32 product within its analytic bound.
/// </summary>
public class Int8GemmTests
{
    public static readonly TheoryData<int, int, int> Shapes = new()
    {
        { 1, 1, 1 }, { 5, 3, 15 }, { 6, 16, 16 }, { 7, 17, 17 }, { 13, 384, 33 }, { 50, 64, 384 }, { 97, 1537, 48 }, { 61, 383, 1152 },
    };

    [Fact]
    public void MachineHasAnInt8Kernel()
    {
        // Every x86-64 CI machine this project targets has AVX2; the test names the kernels it will exercise.
        Assert.True(Int8Gemm.Supported);
        Assert.Contains(Int8Kernel.Avx2, ComputeContext.Int8Kernels);
        Assert.Equal(System.Runtime.Intrinsics.X86.AvxVnni.IsSupported, ComputeContext.Int8Kernels.Contains(Int8Kernel.AvxVnni));
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void IntegerSumsAreExact(int m, int k, int n)
    {
        var rng = new Random(m * 7919 + k * 31 + n);
        var b = PackedInt8Matrix.Quantize(Gaussian(rng, k * n), k, n);
        int kp = (k + 3) & ~3;
        // Every byte value, padding included (B's padding is zero, so A's padding must not matter).
        var a = new byte[m * kp];
        rng.NextBytes(a);
        var expected = new int[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                int sum = 0;
                for (int p = 0; p < k; p++) sum += (a[i * kp + p] - 128) * b.At(p, j);
                expected[i * n + j] = sum;
            }
        foreach (var kernel in ComputeContext.Int8Kernels)
        {
            using var compute = new ComputeContext(threads: 2, int8Kernel: kernel);
            var c = new int[m * n];
            Int8Gemm.MultiplyIntegers(compute, a, m, b, c);
            Assert.True(expected.AsSpan().SequenceEqual(c), $"{kernel}: integer sums differ from the scalar reference at [{m}, {k}, {n}]");
        }
    }

    /// <summary>
    /// The worst case for u8×s8 pair sums: every activation byte 255 (or 0) against weights of ±127. vpmaddubsw
    /// would saturate each pair at 32767 (2·255·127 = 64770); every kernel here must give the exact sum.
    /// </summary>
    [Theory]
    [InlineData(255, 127)]
    [InlineData(255, -127)]
    [InlineData(0, 127)]
    [InlineData(0, -127)]
    public void SaturationWorstCaseIsExact(byte activation, int weight)
    {
        const int m = 7, k = 1536, n = 20;
        var b = PackedInt8Matrix.Quantize(Enumerable.Repeat((float)weight, k * n).ToArray(), k, n);
        Assert.Equal((sbyte)weight, b.At(k - 1, n - 1));
        var a = Enumerable.Repeat(activation, m * k).ToArray();
        int expected = (activation - 128) * weight * k;
        foreach (var kernel in ComputeContext.Int8Kernels)
        {
            using var compute = new ComputeContext(threads: 1, int8Kernel: kernel);
            var c = new int[m * n];
            Int8Gemm.MultiplyIntegers(compute, a, m, b, c);
            Assert.All(c, v => Assert.Equal(expected, v));
        }
    }

    /// <summary>
    /// Multiply against a scalar dequantization of the same integers: (Σ a_q·b_q)·s_a·s_b + bias (+ residual), GELU.
    /// Tolerance 1e-5 relative to the magnitude of the terms plus 1e-6: fp32 rounding of the int→float
    /// conversion (exact below 2²⁴), the scale product and the epilogue — no quantization error enters.
    /// </summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void DequantizedOutputMatchesReference(int m, int k, int n)
    {
        var rng = new Random(m * 131 + k * 17 + n);
        var a = Gaussian(rng, m * k);
        var bias = Gaussian(rng, n);
        var residual = Gaussian(rng, m * n);
        var b = PackedInt8Matrix.Quantize(Gaussian(rng, k * n), k, n);
        var (aq, sa) = QuantizeRows(a, m, k);

        foreach (var kernel in ComputeContext.Int8Kernels)
        {
            using var compute = new ComputeContext(threads: 2, int8Kernel: kernel);
            foreach (var (act, useBias, useResidual) in new[] { (Activation.None, false, false), (Activation.None, true, true), (Activation.Gelu, true, false) })
            {
                var c = new float[m * n];
                Int8Gemm.Multiply(compute, a, m, b, useBias ? bias : default, c, act, useResidual ? residual : default);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                    {
                        long sum = 0;
                        for (int p = 0; p < k; p++) sum += aq[i * k + p] * b.At(p, j);
                        double v = (double)sum * sa[i] * b.Scale(j);
                        double magnitude = Math.Abs(v);
                        if (useBias) { v += bias[j]; magnitude += Math.Abs(bias[j]); }
                        if (useResidual) { v += residual[i * n + j]; magnitude += Math.Abs(residual[i * n + j]); }
                        if (act == Activation.Gelu) v = 0.5 * v * (1 + ReferenceMath.Erf(v / Math.Sqrt(2)));
                        double tolerance = 1e-5 * magnitude + 1e-6;
                        Assert.True(Math.Abs(c[i * n + j] - v) <= tolerance, $"{kernel} {act} [{i},{j}]: {c[i * n + j]} vs {v}");
                    }
            }
        }
    }

    [Fact]
    public void KernelsAgreeBitForBit()
    {
        var rng = new Random(11);
        foreach (var (m, k, n) in new[] { (1, 384, 384), (13, 384, 1536), (50, 1536, 384), (97, 37, 80) })
        {
            var a = Gaussian(rng, m * k);
            var bias = Gaussian(rng, n);
            var b = PackedInt8Matrix.Quantize(Gaussian(rng, k * n), k, n);
            float[]? first = null;
            foreach (var kernel in ComputeContext.Int8Kernels)
            {
                using var compute = new ComputeContext(threads: 2, int8Kernel: kernel);
                var c = new float[m * n];
                Int8Gemm.Multiply(compute, a, m, b, bias, c, Activation.Gelu);
                if (first == null) first = c;
                else Assert.True(first.AsSpan().SequenceEqual(c), $"{kernel} differs at [{m}, {k}, {n}]");
            }
        }
    }

    /// <summary>
    /// Against the exact (double) fp32 product. Rounding each operand to its scale's grid moves it by at most half
    /// a step, so per output |Σ a·b − Σ â·b̂| ≤ Σₖ (s_a/2·|b| + |a|·s_b/2 + s_a·s_b/4): a bound that must hold
    /// for any data (plus 1e-5 relative for the fp32 epilogue). On Gaussian data the typical error is far below
    /// it: the relative Frobenius error stays under 2 % (about 1 % expected: two rounding noises of
    /// s/√12 with s ≈ 3.5σ/127 at K = 384).
    /// </summary>
    [Fact]
    public void QuantizationErrorWithinBound()
    {
        const int m = 64, k = 384, n = 384;
        var rng = new Random(3);
        var a = Gaussian(rng, m * k);
        var w = Gaussian(rng, k * n);
        var b = PackedInt8Matrix.Quantize(w, k, n);
        var (_, sa) = QuantizeRows(a, m, k);
        var c = new float[m * n];
        Int8Gemm.Multiply(TestCompute.Shared, a, m, b, default, c);
        double errSq = 0, refSq = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double exact = 0, bound = 0;
                for (int p = 0; p < k; p++)
                {
                    double x = a[i * k + p], y = w[p * n + j];
                    exact += x * y;
                    bound += sa[i] / 2 * Math.Abs(y) + Math.Abs(x) * b.Scale(j) / 2 + sa[i] * b.Scale(j) / 4;
                }
                double err = Math.Abs(c[i * n + j] - exact);
                Assert.True(err <= bound + 1e-5 * Math.Abs(exact) + 1e-6, $"[{i},{j}]: error {err} above bound {bound}");
                errSq += err * err;
                refSq += exact * exact;
            }
        double relative = Math.Sqrt(errSq / refSq);
        Assert.True(relative < 0.02, $"relative Frobenius error {relative:P2}");
    }

    [Fact]
    public void QuantizeRowRoundsToNearestEvenAndOffsets()
    {
        // 70 values: two full 32-wide vector blocks and a scalar tail; ties at ±0.5 and ±2.5 steps.
        var row = new float[70];
        var rng = new Random(9);
        for (int i = 0; i < row.Length; i++) row[i] = (float)(rng.NextDouble() * 2 - 1);
        row[5] = 1f; // max|x| = 1 → step 1/127
        row[10] = 0.5f / 127; row[11] = -0.5f / 127; row[40] = 2.5f / 127; row[69] = -2.5f / 127;
        var dst = new byte[72];
        float scale = Int8Quantizer.QuantizeRow(row, dst);
        Assert.Equal(1f / 127, scale);
        for (int i = 0; i < row.Length; i++) Assert.Equal(Int8Quantizer.Round(row[i] * 127f) + 128, dst[i]);
        Assert.Equal(128, dst[10]); Assert.Equal(128, dst[11]); Assert.Equal(130, dst[40]); Assert.Equal(126, dst[69]);
        Assert.Equal(255, dst[5]);
        Assert.Equal([128, 128], dst[70..]);

        Assert.Equal(0f, Int8Quantizer.QuantizeRow(new float[40], dst));
        Assert.All(dst, v => Assert.Equal(128, v));
        row[3] = float.NaN;
        Assert.True(float.IsNaN(Int8Quantizer.QuantizeRow(row, dst)));
    }

    [Fact]
    public void WeightsQuantizePerColumn()
    {
        const int k = 9, n = 20;
        var rng = new Random(4);
        var w = Gaussian(rng, k * n);
        for (int p = 0; p < k; p++) w[p * n + 3] *= 100; // one column far larger must not coarsen the others
        var b = PackedInt8Matrix.Quantize(w, k, n);
        for (int j = 0; j < n; j++)
        {
            float max = 0;
            for (int p = 0; p < k; p++) max = Math.Max(max, Math.Abs(w[p * n + j]));
            Assert.Equal(max / 127f, b.Scale(j));
            for (int p = 0; p < k; p++) Assert.True(Math.Abs(w[p * n + j] - b.At(p, j) * b.Scale(j)) <= b.Scale(j) * 0.5001f, $"[{p},{j}]");
        }
        Assert.Throws<ArgumentException>(() => PackedInt8Matrix.Quantize([1f, float.NaN], 2, 1));
    }

    [Fact]
    public void ForcingAnUnsupportedKernelFailsClearly()
    {
        if (System.Runtime.Intrinsics.X86.AvxVnni.IsSupported) return; // nothing unsupported to force here
        var e = Assert.Throws<PlatformNotSupportedException>(() => new ComputeContext(int8Kernel: Int8Kernel.AvxVnni));
        Assert.Contains("AVX-VNNI", e.Message);
    }

    private static (int[] Q, float[] Scales) QuantizeRows(float[] a, int m, int k)
    {
        var q = new int[m * k];
        var scales = new float[m];
        var bytes = new byte[k];
        for (int i = 0; i < m; i++)
        {
            scales[i] = Int8Quantizer.QuantizeRow(a.AsSpan(i * k, k), bytes);
            for (int p = 0; p < k; p++) q[i * k + p] = bytes[p] - 128;
        }
        return (q, scales);
    }

    private static float[] Gaussian(Random rng, int n)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        return v;
    }
}
