using System.CommandLine;
using System.Text.Json;
using Spectre.Console;

namespace RepShift.Cli;

/// <summary>Console plumbing shared by all commands: stderr for people, stdout for data, one error line for bad input.</summary>
internal static class Cli
{
    /// <summary>Human-readable output, progress and summaries: always stderr, so stdout stays machine-readable.</summary>
    public static readonly IAnsiConsole Err = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });

    public static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public static int Invoke(RootCommand root, string[] args)
    {
        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
        try
        {
            return root.Parse(args).Invoke(config);
        }
        catch (Exception e) when (Describe(e) is { } message)
        {
            Console.Error.WriteLine($"error: {message}");
            return 2;
        }
    }

    /// <summary>Errors the user can fix get one line; anything else is a bug and keeps its stack trace.</summary>
    private static string? Describe(Exception e) => e switch
    {
        RepShiftException or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException => e.Message,
        System.Text.DecoderFallbackException d => $"input is not valid UTF-8 ({d.Message})",
        OperationCanceledException => "cancelled",
        _ => null,
    };

    /// <summary>Writes one JSON object as a line on stdout.</summary>
    public static void WriteJson<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, Json));

    /// <summary>Runs <paramref name="work"/> with a progress bar on stderr (plain start/end lines when stderr is not a terminal).</summary>
    public static T WithProgress<T>(string label, int total, Func<IProgress<int>, T> work)
    {
        if (Console.IsErrorRedirected || total <= 1)
            return work(new Progress<int>(_ => { }));
        T result = default!;
        Err.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(label, maxValue: total);
                result = work(new SyncProgress(v => task.Value = v));
            });
        return result;
    }

    /// <summary>An IProgress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool and may arrive late).</summary>
    private sealed class SyncProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
