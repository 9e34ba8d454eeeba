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

    /// <summary>Exit codes shared by every command (documented in --help and the README).</summary>
    public const int ExitOk = 0, ExitCheckFailed = 1, ExitUserError = 2, ExitInternalError = 3;

    /// <summary>Set to 1 to print the stack trace of an internal error.</summary>
    public const string DebugVariable = "REPSHIFT_DEBUG";

    /// <summary>
    /// Parses and runs; parse errors and errors the user can fix are one <c>error:</c> line each and exit 2,
    /// anything else is a bug: one line, exit 3, the stack trace only with REPSHIFT_DEBUG=1.
    /// </summary>
    public static int Invoke(RootCommand root, string[] args, TextWriter? errors = null)
    {
        errors ??= Console.Error;
        var parse = root.Parse(args);
        // --help answers even when the rest of the line has errors (e.g. a required option left out).
        if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
        {
            foreach (var e in parse.Errors) errors.WriteLine($"error: {e.Message}");
            string command = string.Join(' ', EnumerateCommands(parse.CommandResult).Reverse());
            errors.WriteLine($"see '{command} --help'");
            return ExitUserError;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, Error = errors });
        }
        catch (Exception e) when (Unwrap(e) is var inner && Describe(inner) is { } message)
        {
            errors.WriteLine($"error: {message}");
            return ExitUserError;
        }
        catch (Exception e)
        {
            var inner = Unwrap(e);
            errors.WriteLine($"error: internal error ({inner.GetType().Name}): {inner.Message}");
            if (Environment.GetEnvironmentVariable(DebugVariable) == "1") errors.WriteLine(inner);
            else errors.WriteLine($"this is a bug in repshift; run again with {DebugVariable}=1 for the stack trace");
            return ExitInternalError;
        }
    }

    private static IEnumerable<string> EnumerateCommands(System.CommandLine.Parsing.CommandResult? r)
    {
        for (; r != null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            yield return r.Parent == null ? "repshift" : r.Command.Name;
    }

    /// <summary>Parallel loops wrap the one exception that stopped them.</summary>
    private static Exception Unwrap(Exception e) => e is AggregateException { InnerExceptions: [var single] } ? Unwrap(single) : e;

    /// <summary>Errors the user can fix get one line, library property names replaced by the flags that set them.</summary>
    private static string? Describe(Exception e) => e switch
    {
        ModelFormatException or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException => e.Message,
        RepShiftException => FlagNames(e.Message),
        System.Text.DecoderFallbackException d => $"input is not valid UTF-8 ({d.Message})",
        ArgumentException a => FlagNames(a.ParamName is { } p && a.Message.EndsWith($" (Parameter '{p}')", StringComparison.Ordinal) ? a.Message[..^$" (Parameter '{p}')".Length] : a.Message),
        OperationCanceledException => "cancelled",
        _ => null,
    };

    /// <summary>Library option properties and the command-line flags that set them.</summary>
    private static readonly (string Property, string Flag)[] Flags =
    [
        ("BatchSize", "--batch"), ("BatchTokens", "--batch-tokens"), ("MaxTokens", "--max-tokens"), ("Threads", "--threads"),
        ("MinLength", "--min-length"), ("RemoveCount", "--remove"), ("PruneAt", "--prune-at"), ("Keep", "--keep"), ("Mass", "--mass"),
        ("Repetitions", "--repetitions"), ("HeadDim", "--head-dim"), ("Heads", "--heads"),
        ("Lengths", "--lengths"), ("Attention", "--attention"), ("Metric", "--metric"), ("Mode", "--mode"), ("Pooling", "--pooling"),
    ];

    internal static string FlagNames(string message)
    {
        foreach (var (property, flag) in Flags)
            message = System.Text.RegularExpressions.Regex.Replace(message, $@"(?<![\w.-]){property}\b", flag);
        return message;
    }

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
