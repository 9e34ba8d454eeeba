using System.Reflection;
using System.Runtime.CompilerServices;
using RepShift.Compression;
using RepShift.Kernels;
using RepShift.Loading;

namespace RepShift.Tests;

/// <summary>Engines own their compute settings: no process-wide switch, and two engines in one process do not disturb each other.</summary>
public class ComputeContextTests
{
    private static readonly string[] Texts =
    [
        "A man is playing a guitar on the street corner while people walk past.",
        "Two dogs run through the snow.",
        "The committee postponed its decision on the new budget until next month, citing missing figures from two of the regional offices and a pending audit.",
        "short",
        "Kernels, threads and profiles belong to an engine instance rather than to the process, so several models can run side by side.",
    ];

    [Fact]
    public void TwoEmbeddersWithDifferentThreadsAndKernelsRunConcurrentlyEachGivingItsOwnResult()
    {
        var model = EmbeddedModel.Load();
        var plan = Presets.Get("balanced") with { MinLength = 0 };
        var kernelB = ComputeContext.Avx512Available ? GemmKernel.Avx512 : GemmKernel.Avx2;
        using var a = new TextEmbedder(model, new EmbedderOptions { Threads = 1, Kernel = GemmKernel.Avx2, Compression = plan });
        using var b = new TextEmbedder(model, new EmbedderOptions { Threads = 3, Kernel = kernelB, BatchTokens = 40 });
        Assert.Equal(1, a.Compute.Threads);
        Assert.Equal(3, b.Compute.Threads);
        Assert.Equal(GemmKernel.Avx2, a.Compute.Kernel);
        Assert.Equal(kernelB, b.Compute.Kernel);

        var aAlone = a.Embed(Texts).Vectors;
        var bAlone = b.Embed(Texts).Vectors;
        var results = new float[8][][];
        using var start = new Barrier(results.Length);
        var threads = Enumerable.Range(0, results.Length).Select(i => new Thread(() =>
        {
            var embedder = i % 2 == 0 ? a : b;
            start.SignalAndWait();
            for (int round = 0; round < 3; round++) results[i] = embedder.Embed(Texts).Vectors;
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        for (int i = 0; i < results.Length; i++)
        {
            var own = i % 2 == 0 ? aAlone : bAlone;
            for (int t = 0; t < Texts.Length; t++) Assert.Equal(own[t], results[i][t]);
        }
        // And the settings that only decide speed leave the dense result alone: one thread with AVX2 and
        // three with the other kernel and smaller batches agree to the last bit.
        using var aDense = new TextEmbedder(model, new EmbedderOptions { Threads = 1, Kernel = GemmKernel.Avx2 });
        var dense = aDense.Embed(Texts).Vectors;
        for (int t = 0; t < Texts.Length; t++) Assert.Equal(dense[t], bAlone[t]);
    }

    [Fact]
    public void TheScratchMeterCountsEveryWorkersBuffers()
    {
        // Four query blocks of one long sequence: with three threads several work items hold a tile
        // buffer at once, and each buffer is counted no matter which thread rents it.
        const int n = 1024, heads = 2, d = 64, width = heads * d;
        var rng = new Random(1);
        var qkv = new float[n * 3 * width];
        for (int i = 0; i < qkv.Length; i++) qkv[i] = rng.NextSingle() - 0.5f;
        var output = new float[n * width];
        var options = new AttentionOptions { Heads = heads, HeadDim = d, InputStride = 3 * width, OutputStride = width };
        long Peak(int threads)
        {
            using var compute = new ComputeContext(threads);
            // Several calls: the workers are up by then and take items alongside the caller.
            long peak = 0;
            for (int i = 0; i < 20; i++)
            {
                compute.Scratch.ResetPeak();
                FlashAttention.Run(compute, qkv, qkv.AsSpan(width), qkv.AsSpan(2 * width), output, [0, n], options);
                peak = Math.Max(peak, compute.Scratch.Peak);
                Assert.Equal(0, compute.Scratch.Live);
            }
            return peak;
        }
        long one = Peak(1), three = Peak(3);
        Assert.True(one > 0);
        Assert.True(three > one, $"three threads held at most {three} bytes at once, one thread {one}: the workers' scratch was not counted");
    }

    [Fact]
    public void TheLibraryHasNoMutableStaticField()
    {
        // The rule in docs/ARCHITECTURE.md: every static field in src/RepShift is readonly or const; the only
        // exception is a [ThreadStatic] per-thread scratch buffer or flag, which holds no setting.
        var offenders = new List<string>();
        foreach (var type in typeof(TextEmbedder).Assembly.GetTypes())
        {
            if (type.IsDefined(typeof(CompilerGeneratedAttribute))) continue; // lambda caches
            if (type.Namespace == "RepShift.Loading.Onnx.Proto") continue; // protoc's output: a descriptor its static constructor sets once
            foreach (var f in type.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (f.IsInitOnly || f.IsLiteral || f.IsDefined(typeof(ThreadStaticAttribute))) continue;
                if (f.IsDefined(typeof(CompilerGeneratedAttribute)) && !f.Name.EndsWith("k__BackingField", StringComparison.Ordinal)) continue;
                offenders.Add($"{type.FullName}.{f.Name}");
            }
        }
        Assert.Empty(offenders);
    }

    [Fact]
    public void SettingsAreCheckedAtConstruction()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ComputeContext(-1));
        using var all = new ComputeContext();
        Assert.Equal(Environment.ProcessorCount, all.Threads);
        Assert.NotEqual(GemmKernel.Auto, all.Kernel);
        if (!ComputeContext.Avx512Available) Assert.Throws<PlatformNotSupportedException>(() => new ComputeContext(1, GemmKernel.Avx512));
    }
}
