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
    public ComputeContext(int threads = 0, GemmKernel kernel = GemmKernel.Auto, EncoderProfile? profile = null)
    {
        if (threads < 0) throw new ArgumentOutOfRangeException(nameof(threads), threads, "Threads must be ≥ 0 (0: one per logical core)");
        Threads = threads == 0 ? Environment.ProcessorCount : threads;
        Kernel = Resolve(kernel);
        Profile = profile;
        if (Threads > 1) _pool = new WorkerPool(Threads);
    }

    /// <summary>Threads the kernels use, the calling thread included.</summary>
    public int Threads { get; }

    /// <summary>The GEMM kernel in use (never <see cref="GemmKernel.Auto"/>).</summary>
    public GemmKernel Kernel { get; }

    /// <summary>Stage timings of the encoders that use this context, when profiling.</summary>
    public EncoderProfile? Profile { get; }

    /// <summary>Scratch bytes the kernels hold on any of this context's threads, and the most held at once.</summary>
    public ScratchMeter Scratch { get; } = new();

    /// <summary>Flash attention's tile buffers, reused across calls of this context.</summary>
    internal FlashScratch.Pool FlashScratch { get; } = new();

    /// <summary>Whether the CPU and the runtime support the AVX-512 GEMM kernel.</summary>
    public static bool Avx512Available => Avx512F.IsSupported && Vector512.IsHardwareAccelerated;

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

    private static GemmKernel Resolve(GemmKernel kernel) => kernel switch
    {
        GemmKernel.Auto => Avx512Available && Environment.GetEnvironmentVariable("REPSHIFT_AVX512") != "0" ? GemmKernel.Avx512 : GemmKernel.Avx2,
        GemmKernel.Avx2 => kernel,
        GemmKernel.Avx512 when Avx512Available => kernel,
        GemmKernel.Avx512 => throw new PlatformNotSupportedException("Kernel Avx512: this CPU (or runtime) has no AVX-512F"),
        _ => throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "unknown GEMM kernel"),
    };
}
