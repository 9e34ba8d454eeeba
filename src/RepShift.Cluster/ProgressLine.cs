using System.Diagnostics;
using System.Globalization;

namespace RepShift.Cluster;

/// <summary>
/// Progress of a long run as plain lines on stderr, at most one per <c>interval</c>: what is done, the rate and,
/// when the total is known, the ETA. Plain lines (not a redrawn bar) so logs of a detached job stay readable.
/// </summary>
public sealed class ProgressLine(TextWriter output, TimeSpan interval)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _last;

    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Writes a line when <c>interval</c> has passed since the last one (or <paramref name="force"/>).</summary>
    /// <param name="done">Texts done in this run (the rate's numerator).</param>
    /// <param name="remaining">Texts still to do, when known.</param>
    /// <param name="prefix">What else to say first, e.g. "shards 12/200".</param>
    /// <param name="force">Write regardless of the interval.</param>
    public void Report(long done, long? remaining = null, string? prefix = null, bool force = false)
    {
        var now = _clock.Elapsed;
        if (!force && now - _last < interval) return;
        _last = now;
        double rate = done / Math.Max(1e-9, now.TotalSeconds);
        var line = string.Create(CultureInfo.InvariantCulture, $"{prefix}{(prefix is null ? "" : ", ")}{done:N0} texts, {rate:F1} texts/s");
        if (remaining is long left && rate > 0) line += $", ETA {FormatDuration(TimeSpan.FromSeconds(left / rate))}";
        output.WriteLine(line);
    }

    private static string FormatDuration(TimeSpan t) => t.TotalHours >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}h{t.Minutes:D2}m")
        : string.Create(CultureInfo.InvariantCulture, $"{t.Minutes}m{t.Seconds:D2}s");
}
