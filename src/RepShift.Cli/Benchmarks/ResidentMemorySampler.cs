using System.Diagnostics;

namespace RepShift.Cli.Benchmarks;

/// <summary>This process's resident memory (RSS), sampled at a fixed interval until stopped: for soak runs of the server.</summary>
internal sealed class ResidentMemorySampler(TimeSpan interval)
{
    private readonly List<(double Seconds, long Bytes)> _samples = [];

    /// <summary>(seconds since sampling began, resident bytes), in time order.</summary>
    public IReadOnlyList<(double Seconds, long Bytes)> Samples
    {
        get
        {
            lock (_samples) return [.. _samples];
        }
    }

    public async Task RunAsync(CancellationToken stop)
    {
        var clock = Stopwatch.StartNew();
        using var process = Process.GetCurrentProcess();
        while (true)
        {
            process.Refresh();
            lock (_samples) _samples.Add((clock.Elapsed.TotalSeconds, process.WorkingSet64));
            try
            {
                await Task.Delay(interval, stop);
            }
            catch (OperationCanceledException)
            {
                process.Refresh();
                lock (_samples) _samples.Add((clock.Elapsed.TotalSeconds, process.WorkingSet64));
                return;
            }
        }
    }

    /// <summary>The sample taken closest to <paramref name="seconds"/>.</summary>
    public (double Seconds, long Bytes) At(double seconds) => Samples.MinBy(s => Math.Abs(s.Seconds - seconds));
}
