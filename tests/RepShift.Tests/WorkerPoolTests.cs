using RepShift.Kernels;

namespace RepShift.Tests;

/// <summary>The persistent pool behind ComputeContext.For: every item once, failures surface, nesting and concurrent callers are safe.</summary>
public class WorkerPoolTests
{
    [Theory]
    [InlineData(2, 1)]
    [InlineData(2, 7)]
    [InlineData(3, 1000)]
    [InlineData(4, 5)]
    public void RunsEveryItemExactlyOnce(int threads, int count)
    {
        using var pool = new WorkerPool(threads);
        for (int repeat = 0; repeat < 50; repeat++)
        {
            var hits = new int[count];
            pool.For(count, i => Interlocked.Increment(ref hits[i]));
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void RethrowsTheFailureAfterAllItemsEnded()
    {
        using var pool = new WorkerPool(2);
        int done = 0;
        var e = Assert.Throws<InvalidOperationException>(() => pool.For(100, i =>
        {
            if (i == 37) throw new InvalidOperationException("item 37");
            Interlocked.Increment(ref done);
        }));
        Assert.Equal("item 37", e.Message);
        Assert.Equal(99, done);
        // The pool still works afterwards.
        int after = 0;
        pool.For(10, _ => Interlocked.Increment(ref after));
        Assert.Equal(10, after);
    }

    [Fact]
    public void NestedCallsRunInline()
    {
        using var pool = new WorkerPool(2);
        var hits = new int[8 * 8];
        pool.For(8, i => pool.For(8, j => Interlocked.Increment(ref hits[i * 8 + j])));
        Assert.All(hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void ConcurrentCallersEachGetTheirOwnItems()
    {
        using var pool = new WorkerPool(2);
        var sums = new long[4];
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, caller =>
        {
            for (int repeat = 0; repeat < 100; repeat++)
                pool.For(64, i => Interlocked.Add(ref sums[caller], i + 1));
        });
        Assert.All(sums, s => Assert.Equal(100L * 64 * 65 / 2, s));
    }
}
