using RepShift.Benchmarks;

namespace RepShift.Tests;

public class AttentionBenchmarkTests
{
    [Theory]
    [InlineData(7, 128, 7)]    // up to N = 1024: as asked
    [InlineData(7, 8192, 3)]   // 7 · (1024/8192)² rounds up to 1: the floor of 3
    [InlineData(2, 128, 2)]    // asked for fewer than the floor: never more than asked
    [InlineData(2, 8192, 2)]
    [InlineData(1, 8192, 1)]
    public void RepetitionsShrinkWithLengthButNeverPastWhatWasAsked(int repetitions, int length, int expected) =>
        Assert.Equal(expected, new AttentionBenchmarkSettings { Repetitions = repetitions }.RepetitionsFor(length));

    [Fact]
    public void ReportsBothKernelsOnTheSameInputAndTheirScratch()
    {
        var messages = new List<string>();
        var rows = AttentionBenchmark.Run(
            new AttentionBenchmarkSettings { Lengths = [100, 1024], Heads = 2, HeadDim = 16, Threads = 2, Repetitions = 1, MinRepetitions = 1 },
            new SyncProgress(messages));

        Assert.Equal([100, 1024], rows.Select(r => r.Length));
        foreach (var r in rows)
        {
            Assert.True(r.FlashMs > 0 && r.NaiveMs > 0);
            Assert.Equal(r.NaiveMs / r.FlashMs, r.Speedup);
            // Same input through both kernels: the outputs agree.
            Assert.True(r.MaxAbsDifference < 1e-5, $"N={r.Length}: flash and naive differ by {r.MaxAbsDifference}");
            // One sequence: the naive kernel holds exactly one N×N map at a time.
            Assert.Equal(4L * r.Length * r.Length, r.NaiveExtraBytes);
            Assert.True(r.FlashExtraBytes > 0);
        }
        // Flash attention's scratch is per worker, not per token: two workers at N = 1024 hold at most twice
        // what N = 100 (one worker or more) held, a small fraction of the naive map.
        Assert.True(rows[1].FlashExtraBytes <= 2 * rows[0].FlashExtraBytes, $"{rows[1].FlashExtraBytes} vs {rows[0].FlashExtraBytes} bytes");
        Assert.True(rows[1].ExtraMemoryRatio < 0.05, $"flash uses {rows[1].ExtraMemoryRatio:P1} of naive's memory");
        Assert.Contains(messages, m => m.StartsWith("N=1024:", StringComparison.Ordinal));
    }

    [Fact]
    public void RejectsSettingsItCannotRun()
    {
        Assert.Contains("sequence length 0", Assert.Throws<ArgumentException>(() => AttentionBenchmark.Run(new AttentionBenchmarkSettings { Lengths = [0] })).Message);
        Assert.Contains("head dim", Assert.Throws<ArgumentException>(() => AttentionBenchmark.Run(new AttentionBenchmarkSettings { HeadDim = 300 })).Message);
        Assert.Contains("threads", Assert.Throws<ArgumentException>(() => AttentionBenchmark.Run(new AttentionBenchmarkSettings { Threads = 0 })).Message);
    }

    /// <summary>Records synchronously (<see cref="Progress{T}"/> would post to the thread pool).</summary>
    private sealed class SyncProgress(List<string> messages) : IProgress<string>
    {
        public void Report(string value) => messages.Add(value);
    }
}
