using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace RepShift.Cli;

/// <summary>
/// Parse-time checks for option values: ranges, finite numbers, lists, conflicting options and paths.
/// They run before any command action, so a bad value is one error line and exit 2 before a model loads.
/// </summary>
internal static class OptionChecks
{
    /// <summary>The value must lie in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Option<int> Range(this Option<int> option, int min, int max = int.MaxValue, string? hint = null)
    {
        option.Validators.Add(r =>
        {
            if (Given<int>(r) is int v && (v < min || v > max)) r.AddError(OutOfRange(option.Name, v.ToString(CultureInfo.InvariantCulture), min, max, hint));
        });
        return option;
    }

    public static Option<int?> Range(this Option<int?> option, int min, int max = int.MaxValue, string? hint = null)
    {
        option.Validators.Add(r =>
        {
            if (Value<int?>(r) is int v && (v < min || v > max)) r.AddError(OutOfRange(option.Name, v.ToString(CultureInfo.InvariantCulture), min, max, hint));
        });
        return option;
    }

    /// <summary>A finite value in [min, max], or (min, max] when <paramref name="minExclusive"/>; NaN and ±Infinity are refused.</summary>
    public static Option<double> Range(this Option<double> option, double min, double max, bool minExclusive = false)
    {
        option.Validators.Add(r => CheckReal(r, option.Name, Given<double>(r), min, max, minExclusive));
        return option;
    }

    public static Option<double?> Range(this Option<double?> option, double min, double max, bool minExclusive = false)
    {
        option.Validators.Add(r => CheckReal(r, option.Name, Value<double?>(r), min, max, minExclusive));
        return option;
    }

    public static Option<float> Range(this Option<float> option, double min, double max, bool minExclusive = false, bool maxExclusive = false)
    {
        option.Validators.Add(r => CheckReal(r, option.Name, Given<float>(r), min, max, minExclusive, maxExclusive));
        return option;
    }

    /// <summary>A comma-separated list of whole numbers, each in [min, max], at least one.</summary>
    public static Option<string> IntList(this Option<string> option, int min, int max)
    {
        option.Validators.Add(r =>
        {
            if (Value<string>(r) is not { } text) return;
            if (ParseIntList(option.Name, text, min, max, out _) is { } error) r.AddError(error);
        });
        return option;
    }

    /// <summary>The message for a bad list, or null with the numbers in <paramref name="values"/>.</summary>
    public static string? ParseIntList(string name, string text, int min, int max, out int[] values)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        values = new int[parts.Length];
        if (parts.Length == 0) return $"{name} '{text}' is empty: give comma-separated whole numbers, e.g. 128,512";
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out int v))
                return $"{name} '{text}': '{parts[i]}' is not a whole number";
            if (v < min || v > max) return $"{name} '{text}': {v} is out of range: use {min} to {max}";
            values[i] = v;
        }
        return null;
    }

    /// <summary>A file to be written: its folder must exist and it must not be a folder; "-" (stdout) passes.</summary>
    public static Option<T> OutputFile<T>(this Option<T> option) where T : class?
    {
        option.Validators.Add(r =>
        {
            if (Value<string>(r) is { } path && OutputFileError(option.Name, path) is { } error) r.AddError(error);
        });
        return option;
    }

    internal static string? OutputFileError(string name, string path)
    {
        if (path == "-") return null;
        if (path.Length == 0) return $"{name}: the path is empty";
        if (Directory.Exists(path)) return $"{name} {path}: is a folder; give a file name";
        string full;
        try { full = Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException) { return $"{name} {path}: not a valid path ({e.Message})"; }
        string? folder = Path.GetDirectoryName(full);
        if (folder != null && !Directory.Exists(folder)) return $"{name} {path}: the folder {folder} does not exist; create it first";
        return null;
    }

    /// <summary>A folder to be created or filled: it must not be a file, and the folder above it must exist.</summary>
    public static Option<T> OutputFolder<T>(this Option<T> option) where T : class?
    {
        option.Validators.Add(r =>
        {
            if (Value<string>(r) is not { } path) return;
            if (path.Length == 0) { r.AddError($"{option.Name}: the path is empty"); return; }
            if (File.Exists(path)) { r.AddError($"{option.Name} {path}: is a file; give a folder"); return; }
            string? parent;
            try { parent = Path.GetDirectoryName(Path.GetFullPath(path)); }
            catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException) { r.AddError($"{option.Name} {path}: not a valid path ({e.Message})"); return; }
            if (parent != null && !Directory.Exists(parent)) r.AddError($"{option.Name} {path}: the folder {parent} does not exist; create it first");
        });
        return option;
    }

    /// <summary>A file that must exist ("-" passes when <paramref name="stdin"/>).</summary>
    public static Option<T> ExistingFile<T>(this Option<T> option, bool stdin = false) where T : class?
    {
        option.Validators.Add(r =>
        {
            if (Value<string>(r) is not { } path || (stdin && path == "-")) return;
            if (Directory.Exists(path)) r.AddError($"{option.Name} {path}: is a folder; give a file");
            else if (!File.Exists(path)) r.AddError($"{option.Name} {path}: file not found");
        });
        return option;
    }

    /// <summary>At most one of <paramref name="options"/> may be given (explicitly) on <paramref name="command"/>.</summary>
    public static void OneOf(this Command command, params Option[] options)
    {
        command.Validators.Add(r =>
        {
            var given = options.Where(o => r.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToList();
            if (given.Count > 1) r.AddError($"give {Or(options.Select(o => o.Name))}, not {string.Join(" and ", given)} together");
        });
    }

    private static string Or(IEnumerable<string> names)
    {
        var list = names.ToList();
        return list.Count <= 2 ? string.Join(" or ", list) : string.Join(", ", list[..^1]) + " or " + list[^1];
    }

    /// <summary>The parsed value when the option was given and converted; null otherwise (conversion errors are reported by the parser).</summary>
    private static T? Value<T>(OptionResult r)
    {
        if (r.Implicit || r.Errors.Any()) return default;
        try { return r.GetValueOrDefault<T>(); }
        catch (InvalidOperationException) { return default; }
    }

    /// <summary>As <see cref="Value{T}"/> for value types, where "not given" must not read as 0.</summary>
    private static T? Given<T>(OptionResult r) where T : struct
    {
        if (r.Implicit || r.Errors.Any()) return null;
        try { return r.GetValueOrDefault<T>(); }
        catch (InvalidOperationException) { return null; }
    }

    private static void CheckReal(OptionResult r, string name, double? value, double min, double max, bool minExclusive, bool maxExclusive = false)
    {
        if (value is not double v) return;
        string text = v.ToString("R", CultureInfo.InvariantCulture);
        if (!double.IsFinite(v)) { r.AddError($"{name} {text}: give a finite number"); return; }
        bool below = minExclusive ? v <= min : v < min, above = maxExclusive ? v >= max : v > max;
        if (below || above)
            r.AddError($"{name} {text} is out of range: use a value in {(minExclusive ? "(" : "[")}{Fmt(min)}, {Fmt(max)}{(maxExclusive ? ")" : "]")}");
    }

    private static string OutOfRange(string name, string value, int min, int max, string? hint) =>
        $"{name} {value} is out of range: use " + (max == int.MaxValue ? $"{min} or more" : $"{min} to {max}") + (hint == null ? "" : $" ({hint})");

    private static string Fmt(double v) => double.IsInfinity(v) ? (v > 0 ? "∞" : "-∞") : v.ToString("G", CultureInfo.InvariantCulture);
}
