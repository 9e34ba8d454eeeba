using System.Runtime.Intrinsics;
using RepShift.Kernels;
using RepShift.Models;

namespace RepShift.Tests;

public class FlashAttentionTests
{
    /// <summary>
    /// Largest allowed <see cref="ReferenceAttention.RelativeError"/> (max |a − b| / max |b| per tensor)
    /// against the double-precision reference; fp32 with fp32 accumulation lands around 1e-7 to 1e-6.
    /// </summary>
    private const double Tolerance = 1e-5;

    private const float Sentinel = 777f;

    /// <summary>A packed batch in the encoder's fused layout: Q, K, V side by side in each row of <see cref="Qkv"/>.</summary>
    private sealed record Case(float[] Qkv, int[] SeqStarts, int Heads, int HeadDim, int InputStride, float[]? Bias)
    {
        public int Width => Heads * HeadDim;
        public int Tokens => SeqStarts[^1];
        public ReadOnlySpan<float> Q => Qkv;
        public ReadOnlySpan<float> K => Qkv.AsSpan(Width);
        public ReadOnlySpan<float> V => Qkv.AsSpan(2 * Width);
    }

    private static Case MakeCase(int[] lengths, int heads, int headDim, bool bias, int seed, float spread = 1f, int extraColumns = 0)
    {
        var rng = new Random(seed);
        var starts = new int[lengths.Length + 1];
        for (int s = 0; s < lengths.Length; s++) starts[s + 1] = starts[s] + lengths[s];
        int width = heads * headDim, stride = 3 * width + extraColumns, tokens = starts[^1];
        var qkv = new float[Math.Max(1, tokens * stride)];
        for (int i = 0; i < qkv.Length; i++) qkv[i] = (float)(rng.NextDouble() * 2 - 1) * spread;
        float[]? keyBias = null;
        if (bias)
        {
            // Log of merged-token sizes 1..4, as proportional attention uses it.
            keyBias = new float[tokens];
            for (int t = 0; t < tokens; t++) keyBias[t] = MathF.Log(1 + rng.Next(4));
        }
        return new Case(qkv, starts, heads, headDim, stride, keyBias);
    }

    private sealed record Outputs(float[] Output, float[] LogSumExp, float[] Received, float[] Cls);

    private static Outputs RunKernel(Case c, bool flash, float? scale = null, int outputPad = 0, float[]? bias = null)
    {
        int tokens = c.Tokens, outStride = c.Width + outputPad;
        var output = new float[Math.Max(1, tokens * outStride)];
        Array.Fill(output, Sentinel);
        var options = new AttentionOptions
        {
            Heads = c.Heads,
            HeadDim = c.HeadDim,
            InputStride = c.InputStride,
            OutputStride = outStride,
            Scale = scale,
            KeyBias = bias ?? c.Bias,
            LogSumExp = new float[tokens * c.Heads],
            AttentionReceived = new float[tokens],
            ClsAttention = new float[tokens],
        };
        if (flash) FlashAttention.Run(TestCompute.Shared, c.Q, c.K, c.V, output, c.SeqStarts, options);
        else NaiveAttention.Run(TestCompute.Shared, c.Q, c.K, c.V, output, c.SeqStarts, options);
        // Columns between heads·d and the output stride belong to someone else.
        for (int t = 0; t < tokens; t++)
            for (int x = c.Width; x < outStride; x++) Assert.Equal(Sentinel, output[t * outStride + x]);
        return new Outputs(ReferenceAttention.Dense(output, tokens, c.Width, outStride), options.LogSumExp, options.AttentionReceived, options.ClsAttention);
    }

    private static void AssertMatchesReference(Case c, float? scale = null, int outputPad = 0, float[]? bias = null)
    {
        var flash = RunKernel(c, flash: true, scale, outputPad, bias);
        var expected = ReferenceAttention.Run(c.Q, c.K, c.V, c.SeqStarts, c.Heads, c.HeadDim, c.InputStride,
            scale ?? 1.0 / Math.Sqrt(c.HeadDim), bias ?? c.Bias);
        AssertClose(flash.Output, expected.Output, "output");
        AssertClose(flash.LogSumExp, expected.LogSumExp, "log-sum-exp");
        AssertClose(flash.Received, expected.Received, "attention received");
        AssertClose(flash.Cls, expected.Cls, "[CLS] attention");
    }

    private static void AssertClose(float[] actual, double[] expected, string what)
    {
        double error = ReferenceAttention.RelativeError(actual, expected);
        Assert.True(error <= Tolerance, $"{what}: relative error {error:E2} exceeds {Tolerance:E0}");
    }

    private static void AssertClose(float[] actual, float[] expected, string what) =>
        AssertClose(actual, Array.ConvertAll(expected, x => (double)x), what);

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(7, true)]
    [InlineData(63, false)]
    [InlineData(64, true)]
    [InlineData(65, false)]
    [InlineData(511, true)]
    [InlineData(2048, false)]
    [InlineData(2048, true)]
    public void SingleSequenceMatchesReference(int length, bool bias)
    {
        int heads = length >= 2048 ? 2 : 3;
        AssertMatchesReference(MakeCase([length], heads, 64, bias, seed: length));
    }

    [Theory]
    [InlineData(32, false)]
    [InlineData(32, true)]
    [InlineData(64, true)]
    [InlineData(128, false)]
    [InlineData(128, true)]
    [InlineData(40, true)]
    [InlineData(24, false)]
    [InlineData(7, true)]
    [InlineData(256, false)]
    public void PackedBatchOfMixedLengthsMatchesReference(int headDim, bool bias)
    {
        // A zero-length sequence in the middle, lengths on both sides of the block sizes.
        AssertMatchesReference(MakeCase([5, 130, 0, 1, 64, 17, 200], 2, headDim, bias, seed: headDim));
    }

    [Fact]
    public void ExplicitScaleAndWideStridesMatchReference()
    {
        var c = MakeCase([37, 150, 3], 3, 32, bias: true, seed: 11, extraColumns: 5);
        AssertMatchesReference(c, scale: 0.37f, outputPad: 3);
    }

    [Fact]
    public void RowMaximumGrowingFromBlockToBlockIsRescaled()
    {
        // A bias that rises along the keys makes every key block raise every row's running maximum.
        var c = MakeCase([600], 2, 64, bias: false, seed: 5, spread: 2f);
        var bias = new float[600];
        for (int t = 0; t < bias.Length; t++) bias[t] = t * 0.03f;
        AssertMatchesReference(c, bias: bias);
    }

    [Fact]
    public void KeysMaskedWithMinusInfinityGetNoWeight()
    {
        // The whole first key block is masked, so rows start with no finite score at all.
        var c = MakeCase([300, 40], 2, 64, bias: false, seed: 6);
        var bias = new float[340];
        for (int t = 0; t < 150; t++) bias[t] = float.NegativeInfinity;
        for (int t = 150; t < 340; t += 7) bias[t] = float.NegativeInfinity;
        AssertMatchesReference(c, bias: bias);
    }

    [Fact]
    public void AgreesWithNaiveAttention()
    {
        var c = MakeCase([300, 0, 45, 129], 4, 64, bias: true, seed: 3);
        var flash = RunKernel(c, flash: true);
        var naive = RunKernel(c, flash: false);
        AssertClose(flash.Output, naive.Output, "output vs naive");
        AssertClose(flash.LogSumExp, naive.LogSumExp, "log-sum-exp vs naive");
        AssertClose(flash.Received, naive.Received, "attention received vs naive");
        AssertClose(flash.Cls, naive.Cls, "[CLS] attention vs naive");
    }

    [Fact]
    public void ResultOfASequenceDoesNotDependOnItsBatch()
    {
        var batch = MakeCase([70, 9, 200, 33], 2, 64, bias: true, seed: 8);
        var together = RunKernel(batch, flash: true);
        int start = batch.SeqStarts[2], n = batch.SeqStarts[3] - start;
        var alone = batch with
        {
            Qkv = batch.Qkv.AsSpan(start * batch.InputStride, n * batch.InputStride).ToArray(),
            SeqStarts = [0, n],
            Bias = batch.Bias!.AsSpan(start, n).ToArray(),
        };
        var single = RunKernel(alone, flash: true);
        Assert.Equal(together.Output.AsSpan(start * batch.Width, n * batch.Width).ToArray(), single.Output);
        Assert.Equal(together.LogSumExp.AsSpan(start * batch.Heads, n * batch.Heads).ToArray(), single.LogSumExp);
        Assert.Equal(together.Received.AsSpan(start, n).ToArray(), single.Received);
        Assert.Equal(together.Cls.AsSpan(start, n).ToArray(), single.Cls);
    }

    [Fact]
    public void ConcurrentCallsGiveTheSameResultsAsOneAtATime()
    {
        // Scratch comes from a shared pool; calls on several threads must not see each other's tiles.
        var cases = new[] { MakeCase([300, 20], 2, 64, true, 21), MakeCase([257], 3, 32, false, 22), MakeCase([90, 400], 2, 40, true, 23) };
        var alone = Array.ConvertAll(cases, c => RunKernel(c, flash: true));
        var together = new Outputs[cases.Length * 3];
        Parallel.For(0, together.Length, i => together[i] = RunKernel(cases[i % cases.Length], flash: true));
        for (int i = 0; i < together.Length; i++)
        {
            var a = alone[i % cases.Length];
            Assert.Equal(a.Output, together[i].Output);
            Assert.Equal(a.Received, together[i].Received);
            Assert.Equal(a.Cls, together[i].Cls);
        }
    }

    [Fact]
    public void ZeroLengthSequencesYieldNothing()
    {
        var options = new AttentionOptions
        {
            Heads = 2,
            HeadDim = 8,
            InputStride = 48,
            OutputStride = 16,
            LogSumExp = [],
            AttentionReceived = [],
            ClsAttention = [],
        };
        FlashAttention.Run(TestCompute.Shared, [], [], [], [], [0, 0, 0], options);
        FlashAttention.Run(TestCompute.Shared, [], [], [], [], [0], options);

        // Empty sequences between real ones leave the real ones' rows as the reference says.
        AssertMatchesReference(MakeCase([0, 3, 0, 0, 4, 0], 2, 32, bias: false, seed: 9));
    }

    [Fact]
    public void BadInputsAreRejectedWithAClearMessage()
    {
        var c = MakeCase([10, 6], 2, 16, bias: false, seed: 1);
        var output = new float[16 * c.Width];
        AttentionOptions Options(int headDim = 16, int? inputStride = null, float[]? bias = null, float[]? lse = null) => new()
        {
            Heads = 2,
            HeadDim = headDim,
            InputStride = inputStride ?? c.InputStride,
            OutputStride = c.Width,
            KeyBias = bias,
            LogSumExp = lse,
        };
        string Fails(ReadOnlySpan<float> q, Span<float> o, int[] starts, AttentionOptions options)
        {
            var qa = q.ToArray();
            var oa = o.ToArray();
            return Assert.Throws<ArgumentException>(() => FlashAttention.Run(TestCompute.Shared, qa, c.K, c.V, oa, starts, options)).Message;
        }

        Assert.Contains("Q/K/V hold", Fails(c.Q[..(c.Qkv.Length - 80)], output, c.SeqStarts, Options()));
        Assert.Contains("output holds", Fails(c.Q, output.AsSpan(0, 15 * c.Width), c.SeqStarts, Options()));
        Assert.Contains("above the supported maximum of 256", Fails(c.Q, output, c.SeqStarts, Options(headDim: 300, inputStride: 3000)));
        Assert.Contains("must not decrease", Fails(c.Q, output, [0, 10, 6, 16], Options()));
        Assert.Contains("must start at 0", Fails(c.Q, output, [2, 10, 16], Options()));
        Assert.Contains("input stride", Fails(c.Q, output, c.SeqStarts, Options(inputStride: 20)));
        Assert.Contains("key bias has 5 values", Fails(c.Q, output, c.SeqStarts, Options(bias: new float[5])));
        Assert.Contains("log-sum-exp output has 3 values", Fails(c.Q, output, c.SeqStarts, Options(lse: new float[3])));
    }

    [Fact]
    public void Exp2IsAccurateAndFlushesBelowTheNormalRange()
    {
        // 2^x over the softmax domain, against double precision: within 2 ulp (2⁻²² ≈ 2.4e-7).
        double worst = 0;
        var xs = new float[8];
        for (int i = 0; i <= 1_000_000; i++)
        {
            float x = -126f + 127f * i / 1_000_000f; // up to +1 for rounding just above a maximum
            xs[i % 8] = x;
            if (i % 8 != 7) continue;
            var e = VectorExp.Exp2(Vector256.Create(xs));
            for (int l = 0; l < 8; l++) worst = Math.Max(worst, Math.Abs(e[l] / Math.Pow(2, xs[l]) - 1));
        }
        Assert.True(worst <= 2.4e-7, $"max relative error {worst:E2}");
        var flushed = VectorExp.Exp2(Vector256.Create(-126.01f, -130f, -1000f, float.NegativeInfinity, -1e30f, 0f, -126f, -0.5f));
        Assert.Equal([0f, 0f, 0f, 0f, 0f, 1f, MathF.Pow(2, -126), MathF.Sqrt(0.5f)], [flushed[0], flushed[1], flushed[2], flushed[3], flushed[4], flushed[5], flushed[6], flushed[7]], (a, b) => Math.Abs(a - b) <= 1e-7f * Math.Abs(b));
    }

    [Theory]
    [InlineData(64, 2)]
    [InlineData(96, 4)]
    public void EncoderGivesTheSameStatesWithNaiveAndFlashAttention(int hidden, int heads)
    {
        var weights = RandomWeights(hidden, heads, seed: hidden);
        var rng = new Random(4);
        var ids = new List<int[]>();
        foreach (int n in new[] { 5, 60, 2, 33 })
        {
            var seq = new int[n];
            for (int i = 0; i < n; i++) seq[i] = rng.Next(50);
            ids.Add(seq);
        }
        var naive = new BertEncoder(weights, TestCompute.Shared, AttentionKind.Naive).HiddenStates(ids);
        var flash = new BertEncoder(weights, TestCompute.Shared, AttentionKind.Flash).HiddenStates(ids);
        for (int s = 0; s < ids.Count; s++)
            AssertClose(flash[s], naive[s], $"sequence {s} hidden states");
    }

    private static BertWeights RandomWeights(int hidden, int heads, int seed)
    {
        var rng = new Random(seed);
        float[] R(int n, float spread, float center = 0)
        {
            var a = new float[n];
            for (int i = 0; i < n; i++) a[i] = center + (float)(rng.NextDouble() * 2 - 1) * spread;
            return a;
        }
        const int vocab = 50, positions = 64, intermediate = 128, layers = 2;
        var config = new BertConfig { VocabSize = vocab, Hidden = hidden, Layers = layers, Heads = heads, Intermediate = intermediate, MaxPositions = positions };
        int d = hidden;
        var layerWeights = new BertLayerWeights[layers];
        for (int l = 0; l < layers; l++)
        {
            // Large query/key weights so that attention is far from uniform and the kernels have something to get wrong.
            float[] qw = R(d * d, 0.3f), qb = R(d, 0.1f), kw = R(d * d, 0.3f), kb = R(d, 0.1f), vw = R(d * d, 0.2f), vb = R(d, 0.1f);
            layerWeights[l] = new BertLayerWeights
            {
                QkvWeight = QkvLayout.Fuse(qw, kw, vw, d),
                QkvBias = [.. qb, .. kb, .. vb],
                AttentionOutputWeight = R(d * d, 0.2f),
                AttentionOutputBias = R(d, 0.1f),
                AttentionNormGamma = R(d, 0.1f, 1),
                AttentionNormBeta = R(d, 0.1f),
                IntermediateWeight = R(d * intermediate, 0.2f),
                IntermediateBias = R(intermediate, 0.1f),
                OutputWeight = R(intermediate * d, 0.2f),
                OutputBias = R(d, 0.1f),
                OutputNormGamma = R(d, 0.1f, 1),
                OutputNormBeta = R(d, 0.1f),
            };
        }
        return new BertWeights
        {
            Config = config,
            WordEmbeddings = R(vocab * d, 1f),
            PositionEmbeddings = R(positions * d, 0.5f),
            TokenTypeEmbeddings = R(2 * d, 0.1f),
            EmbeddingNormGamma = R(d, 0.1f, 1),
            EmbeddingNormBeta = R(d, 0.1f),
            Layers = layerWeights,
        };
    }
}

public class AttentionShapeErrorTests
{
    [Fact]
    public void HiddenSizeTheHeadCountDoesNotDivideIsAClearError()
    {
        var config = new Models.BertConfig { VocabSize = 10, Hidden = 30, Layers = 1, Heads = 4, Intermediate = 8, MaxPositions = 8 };
        var e = Assert.Throws<ModelFormatException>(() => config.Validate("odd.json"));
        Assert.Contains("hidden size 30 is not divisible by the head count 4", e.Message);
        Assert.Contains("odd.json", e.Message);
    }
}
