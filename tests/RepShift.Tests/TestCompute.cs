using RepShift.Kernels;

namespace RepShift.Tests;

/// <summary>The compute context tests share when they do not test the context itself (two threads, so the parallel paths run).</summary>
internal static class TestCompute
{
    public static readonly ComputeContext Shared = new(threads: 2);
}
