using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RepShift.Kernels;

/// <summary>
/// Everything that decides how (not what) the kernels compute: the worker pool and its thread count, the
/// GEMM kernel, the optional stage profile and the scratch meter. Created once and handed to encoders and
/// kernels; two contexts in one process are independent, so two engines with different settings can run
/// side by side. Results do not depend on the thread count or the kernel (every output is summed in one
/// fixed order). Thread-safe; jobs from concurrent callers of one context queue on its pool.
/// </summary>
public sealed class ComputeContext : IDisposable
{
    private readonly WorkerPool? _pool;

    /// <param name="threads">Threads the kernels use, the calling one included; 0 means one per logical core.</param>
    /// <param name="kernel">GEMM kernel; <see cref="GemmKernel.Auto"/> picks from what the CPU supports.</param>
    /// <param name="profile">When given, encoders add their stage timings to it.</param>
    /// <param name="int8Kernel">int8 GEMM kernel; <see cref="Kernels.Int8Kernel.Auto"/> picks from what the CPU supports.</param>
    public ComputeContext(int threads = 0, GemmKernel kernel = GemmKernel.Auto, EncoderProfile? profile = null, Int8Kernel int8Kernel = Int8Kernel.Auto)
    {
        if (threads < 0) throw new ArgumentOutOfRangeException(nameof(threads), threads, "Threads must be ≥ 0 (0: one per logical core)");
        Threads = threads == 0 ? Environment.ProcessorCount : threads;
        Kernel = Resolve(kernel);
        Int8Kernel = Resolve(int8Kernel);
        Profile = profile;
        if (Threads > 1) _pool = new WorkerPool(Threads);
    }

    /// <summary>Threads the kernels use, the calling thread included.</summary>
    public int Threads { get; }

    /// <summary>The GEMM kernel in use (never <see cref="GemmKernel.Auto"/>).</summary>
    public GemmKernel Kernel { get; }

    /// <summary>The int8 GEMM kernel in use (never <see cref="Kernels.Int8Kernel.Auto"/>).</summary>
    public Int8Kernel Int8Kernel { get; }

    /// <summary>Stage timings of the encoders that use this context, when profiling.</summary>
    public EncoderProfile? Profile { get; }

    /// <summary>Scratch bytes the kernels hold on any of this context's threads, and the most held at once.</summary>
    public ScratchMeter Scratch { get; } = new();

    /// <summary>Flash attention's tile buffers, reused across calls of this context.</summary>
    internal FlashScratch.Pool FlashScratch { get; } = new();

    /// <summary>The int8 GEMM's quantized activations, reused across calls of this context.</summary>
    internal Int8Scratch.Pool Int8Scratch { get; } = new();

    /// <summary>Whether the CPU and the runtime support the AVX-512 GEMM kernel.</summary>
    public static bool Avx512Available => Avx512F.IsSupported && Vector512.IsHardwareAccelerated;

    /// <summary>The int8 kernels this machine runs (none without AVX2), the fastest first.</summary>
    public static IReadOnlyList<Int8Kernel> Int8Kernels =>
        !Avx2.IsSupported ? [] : AvxVnni.IsSupported ? [Int8Kernel.AvxVnni, Int8Kernel.Avx2] : [Int8Kernel.Avx2];

    /// <summary>The kernel <see cref="GemmKernel.Auto"/> stands for on this machine.</summary>
    public static GemmKernel AutoKernel => Resolve(GemmKernel.Auto);

    /// <summary>Runs <paramref name="body"/> for every item in [0, count) on up to <see cref="Threads"/> threads; rethrows the first failure.</summary>
    public void For(int count, Action<int> body)
    {
        if (count <= 0) return;
        if (count == 1 || _pool == null)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        _pool.For(count, body);
    }

    public void Dispose() => _pool?.Dispose();

    // Without AVX2 Auto still names Avx2: the int8 GEMM then refuses with a clear message, fp32 is unaffected.
    private static Int8Kernel Resolve(Int8Kernel kernel) => kernel switch
    {
        Int8Kernel.Auto => AvxVnni.IsSupported ? Int8Kernel.AvxVnni : Int8Kernel.Avx2,
        Int8Kernel.Avx2 => kernel,
        Int8Kernel.AvxVnni when AvxVnni.IsSupported => kernel,
        Int8Kernel.AvxVnni => throw new PlatformNotSupportedException("Int8 kernel AvxVnni: this CPU (or runtime) has no AVX-VNNI"),
        _ => throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "unknown int8 kernel"),
    };

    private static GemmKernel Resolve(GemmKernel kernel) => kernel switch
    {
        GemmKernel.Auto => Avx512Available && Environment.GetEnvironmentVariable("REPSHIFT_AVX512") != "0" ? GemmKernel.Avx512 : GemmKernel.Avx2,
        GemmKernel.Avx2 => kernel,
        GemmKernel.Avx512 when Avx512Available => kernel,
        GemmKernel.Avx512 => throw new PlatformNotSupportedException("Kernel Avx512: this CPU (or runtime) has no AVX-512F"),
        _ => throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "unknown GEMM kernel"),
    };
}
