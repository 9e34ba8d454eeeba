using System.CommandLine;
using RepShift.Cli;
using CliApp = RepShift.Cli.Cli;
using RepShift.Kernels;

namespace RepShift.Tests;

/// <summary>The CLI tests swap Console's writers and run commands that set the thread count, so they run alone.</summary>
[CollectionDefinition(nameof(CliCollection), DisableParallelization = true)]
public sealed class CliCollection;

/// <summary>
/// Every leaf command of the real command tree, every option driven with out-of-range and garbage values:
/// the exit code is always 0, 1 or 2 (never 3, an internal error, nor an exception escaping Cli.Invoke).
/// To stay fast nothing real runs: commands get a missing --model/--data/--ids so a value that passes
/// parsing fails at the first file; values of commands without such a file are only parsed.
/// </summary>
[Collection(nameof(CliCollection))]
public class CliRobustnessTests
{
    private static readonly string Missing = Path.Combine(Path.GetTempPath(), "repshift-cli-missing-" + Guid.NewGuid().ToString("N"), "x");

    /// <summary>Options whose missing file stops a command before it does any work.</summary>
    private static readonly string[] Poisons = ["--model", "--data", "--ids", "--sick"];

    private static readonly string[] IntValues = ["-1", "0", "1", "2", "2147483647", "2147483648", "-2147483649", "abc", "", "1.5", "NaN"];
    private static readonly string[] RealValues = ["-1", "0", "2", "NaN", "Infinity", "-Infinity", "1e308", "-1e308", "1e-320", "abc", ""];
    private static readonly string[] TextValues = ["", "-1", "0", "NaN", ",,,", "a,b", "1,,x", Missing, "/", new string('x', 5000), "\u0001\u00ff"];
    private static readonly string[] EnumValues = ["bogus", "", "-1", "NaN"];

    public static IEnumerable<object[]> Leaves() => Walk(Program.CreateRoot(), []).Select(p => new object[] { string.Join(' ', p) });

    private static IEnumerable<string[]> Walk(Command c, string[] path)
    {
        if (c.Action != null && path.Length > 0) yield return path;
        foreach (var s in c.Subcommands)
            foreach (var p in Walk(s, [.. path, s.Name])) yield return p;
    }

    [Fact]
    public void The_walk_finds_every_command()
    {
        var leaves = Leaves().Select(x => (string)x[0]).ToList();
        foreach (var expected in new[] { "embed", "bench attention", "bench gemm", "eval sts", "train vit", "show", "serve", "calibrate" })
            Assert.Contains(expected, leaves);
    }

    [Theory]
    [MemberData(nameof(Leaves))]
    public void No_option_value_ends_in_an_internal_error(string commandPath)
    {
        var path = commandPath.Split(' ');
        var command = Find(Program.CreateRoot(), path);
        var options = AllOptions(command).Where(o => o.Name is not ("--help" or "--version")).ToList();
        var savedOut = Console.Out;
        var savedErr = Console.Error;
        var failures = new List<string>();
        int runs = 0;
        try
        {
            Console.SetOut(TextWriter.Null);
            Console.SetError(TextWriter.Null);
            foreach (var option in options)
                foreach (var value in Values(option))
                {
                    var args = Args(command, path, options, option, value, out bool poisoned);
                    var root = Program.CreateRoot();
                    // A value that parses on a command with no missing file would start real work (a benchmark): only parsing is checked.
                    if (!poisoned && root.Parse(args).Errors.Count == 0) continue;
                    var errors = new StringWriter();
                    int code;
                    try { code = CliApp.Invoke(root, args, errors); }
                    catch (Exception e) { failures.Add($"{Show(args)}: {e.GetType().Name} escaped: {e.Message}"); continue; }
                    runs++;
                    if (code is not (0 or 1 or 2)) failures.Add($"{Show(args)}: exit {code}: {errors}");
                    else if (code == 2 && !errors.ToString().StartsWith("error: ", StringComparison.Ordinal)) failures.Add($"{Show(args)}: exit 2 without an error line: {errors}");
                }
        }
        finally
        {
            Console.SetOut(savedOut);
            Console.SetError(savedErr);
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(runs > 0, "no case ran");
    }

    [Theory]
    [InlineData("embed x --keep 0.5 --remove 3", "not --keep and --remove together")]
    [InlineData("embed x --keep 0.5 --mass 0.9", "not --keep and --mass together")]
    [InlineData("embed x --plan p.json --preset fast", "not --plan and --preset together")]
    [InlineData("show --text a --image b.png --output c.png", "not --text and --image together")]
    [InlineData("embed x --keep NaN", "--keep NaN: give a finite number")]
    [InlineData("embed x --keep 0", "--keep 0 is out of range")]
    [InlineData("embed x --threads 0", "--threads 0 is out of range")]
    [InlineData("embed x --threads abc", "'abc'")]
    [InlineData("bench attention --repetitions 0", "--repetitions 0 is out of range")]
    [InlineData("bench attention --lengths 1,,x", "'x' is not a whole number")]
    [InlineData("embed x --output MISSING/out.jsonl", "does not exist; create it first")]
    [InlineData("bogus", "bogus")]
    public void Bad_values_are_one_error_line_and_exit_2(string line, string expected)
    {
        var args = line.Split(' ').Select(a => a.Replace("MISSING", Missing, StringComparison.Ordinal)).ToArray();
        var (code, errors) = Run(args);
        Assert.Equal(2, code);
        Assert.StartsWith("error: ", errors, StringComparison.Ordinal);
        Assert.Contains(expected, errors, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", errors, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_attention_runs_with_two_repetitions()
    {
        // Once an unhandled ArgumentException (the library's minimum of 3 repetitions) with exit 134.
        var (code, errors) = Run(["bench", "attention", "--repetitions", "2", "--lengths", "4", "--heads", "1", "--head-dim", "4", "--threads", "1"]);
        Assert.True(code == 0, errors);
    }

    [Fact]
    public void A_plan_file_error_names_the_file_and_the_field()
    {
        using var dir = new TempDirectory();
        string plan = Path.Combine(dir.Path, "plan.json");
        File.WriteAllText(plan, """{"metric":"norm","prune_at":[1],"keep":5}""");
        var (code, errors) = Run(["embed", "x", "--plan", plan]);
        Assert.Equal(2, code);
        Assert.Contains(plan, errors, StringComparison.Ordinal);
        Assert.Contains("\"keep\" must be in (0, 1] (the share of tokens kept), not 5", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("--keep", errors, StringComparison.Ordinal);
    }

    [Fact]
    public void A_plan_file_layer_beyond_the_model_names_the_file()
    {
        using var dir = new TempDirectory();
        new RepShift.Cli.Benchmarks.TinyModelFiles().WriteFolder(dir.File("tiny"));
        string plan = dir.Write("plan.json", """{"metric":"norm","prune_at":[5],"keep":0.5}""");
        var (code, errors) = Run(["embed", "the cat", "--model", dir.File("tiny"), "--max-tokens", "16", "--plan", plan]);
        Assert.Equal(2, code);
        Assert.Contains($"plan file {plan}: \"prune_at\" 5 is out of range", errors, StringComparison.Ordinal);

        // The same model and a plan that fits it embed (exit 0): the checks refuse only what is wrong.
        File.WriteAllText(plan, """{"metric":"norm","prune_at":[0],"keep":0.5}""");
        (code, errors) = Run(["embed", "the cat sat on the mat", "--model", dir.File("tiny"), "--max-tokens", "16", "--plan", plan, "--output", dir.File("out.jsonl")]);
        Assert.True(code == 0, errors);
        Assert.Contains("\"embedding\"", File.ReadAllText(dir.File("out.jsonl")), StringComparison.Ordinal);
    }

    [Fact]
    public void Show_text_gives_each_token_its_span_in_the_text()
    {
        using var dir = new TempDirectory();
        new RepShift.Cli.Benchmarks.TinyModelFiles().WriteFolder(dir.File("tiny"));
        const string text = "Hello, cats sat.";
        var output = new StringWriter();
        var errors = new StringWriter();
        var savedOut = Console.Out;
        int code;
        try
        {
            Console.SetOut(output);
            code = CliApp.Invoke(Program.CreateRoot(), ["show", "--text", text, "--model", dir.File("tiny"), "--max-tokens", "16", "--prune-at", "0", "--keep", "0.5", "--json"], errors);
        }
        finally { Console.SetOut(savedOut); }
        Assert.True(code == 0, errors.ToString());
        using var json = System.Text.Json.JsonDocument.Parse(output.ToString());
        var spans = json.RootElement.GetProperty("tokens").EnumerateArray()
            .Select(t => (t.GetProperty("token").GetString(), t.GetProperty("start").GetInt32(), t.GetProperty("end").GetInt32())).ToArray();
        // Worked by hand: lower-cased "hello" is text[0..5], "cats" splits into cat + ##s at 7..10 and 10..11.
        (string?, int, int)[] expected = [("[CLS]", 0, 0), ("hello", 0, 5), (",", 5, 6), ("cat", 7, 10), ("##s", 10, 11), ("sat", 12, 15), (".", 15, 16), ("[SEP]", 0, 0)];
        Assert.Equal(expected, spans);
    }

    [Fact]
    public void Library_argument_errors_name_the_flag()
    {
        Assert.Equal("--batch must be ≥ 1", CliApp.FlagNames("BatchSize must be ≥ 1"));
        Assert.Equal("--max-tokens 0 is out of range", CliApp.FlagNames("MaxTokens 0 is out of range"));
        Assert.Equal("options.BatchSize", CliApp.FlagNames("options.BatchSize"));
    }

    private static (int Code, string Errors) Run(string[] args)
    {
        var errors = new StringWriter();
        var savedOut = Console.Out;
        var savedErr = Console.Error;
        try
        {
            Console.SetOut(TextWriter.Null);
            Console.SetError(errors);
            return (CliApp.Invoke(Program.CreateRoot(), args, errors), errors.ToString());
        }
        finally
        {
            Console.SetOut(savedOut);
            Console.SetError(savedErr);
        }
    }

    private static Command Find(Command root, string[] path)
    {
        var c = root;
        foreach (var name in path) c = c.Subcommands.Single(s => s.Name == name);
        return c;
    }

    /// <summary>The command's own options and the recursive ones of its parents (none here, but kept honest).</summary>
    private static IEnumerable<Option> AllOptions(Command c) => c.Options;

    private static IEnumerable<string> Values(Option option)
    {
        var type = Nullable.GetUnderlyingType(option.ValueType) ?? option.ValueType;
        if (type == typeof(bool)) return ["maybe", "0"];
        if (type == typeof(int) || type == typeof(long)) return IntValues;
        if (type == typeof(double) || type == typeof(float)) return RealValues;
        if (type.IsEnum) return EnumValues;
        return TextValues;
    }

    /// <summary>The command line: the path, filler for arguments and required options, a missing file where one stops the work, then the value tried.</summary>
    private static string[] Args(Command command, string[] path, List<Option> options, Option tried, string value, out bool poisoned)
    {
        var args = new List<string>(path);
        foreach (var a in command.Arguments)
            if (a.Arity.MinimumNumberOfValues > 0 || a.ValueType == typeof(string[])) args.Add("some text");
        poisoned = false;
        foreach (var o in options)
        {
            if (o == tried) continue;
            if (Poisons.Contains(o.Name)) { args.AddRange([o.Name, Missing]); poisoned = true; }
            else if (o.Required) args.AddRange([o.Name, o.Name == "--engine" ? "repshift" : Missing]);
        }
        args.AddRange([tried.Name, value]);
        return [.. args];
    }

    private static string Show(string[] args) => string.Join(' ', args.Select(a => a.Length > 40 ? a[..20] + "…" : a));
}
