using System.Diagnostics;

namespace RepShift.Kernels;

/// <summary>
/// Wall time per encoder stage, summed over calls and layers, for finding where the time goes
/// (<c>--profile</c>). Off unless an instance is given to the <see cref="ComputeContext"/>.
/// </summary>
public sealed class EncoderProfile
{
    public enum Stage { Embed, QkvProjection, Attention, AttentionOutput, FfnIn, FfnOut, Compression, Pooling }

    private readonly long[] _ticks = new long[Enum.GetValues<Stage>().Length];

    internal void Add(Stage stage, long startTimestamp) =>
        Interlocked.Add(ref _ticks[(int)stage], Stopwatch.GetTimestamp() - startTimestamp);

    public IReadOnlyList<(Stage Stage, double Seconds)> Totals =>
        [.. Enum.GetValues<Stage>().Select(s => (s, _ticks[(int)s] / (double)Stopwatch.Frequency))];
}
