using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace RepShift.Tests;

/// <summary>
/// A strict reader of Prometheus' text exposition format (version 0.0.4), written from its specification so that
/// /metrics is checked by something other than the library that wrote it: every sample must belong to a family
/// declared by <c># TYPE</c> before it, names and label names must be valid, label values properly escaped, no
/// sample may repeat, counters are non-negative, and each histogram's buckets are cumulative, in ascending
/// <c>le</c>, end at <c>+Inf</c> equal to <c>_count</c>, with a <c>_sum</c>. Any violation throws.
/// </summary>
internal static partial class PrometheusText
{
    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    public sealed record Family(string Name, string Type, List<Sample> Samples);

    private static readonly HashSet<string> Types = ["counter", "gauge", "histogram", "summary", "untyped"];

    [GeneratedRegex("^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
    private static partial Regex MetricName();

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex LabelName();

    public static Dictionary<string, Family> Parse(string text)
    {
        if (text.Length > 0 && !text.EndsWith('\n')) throw new FormatException("the exposition does not end with a line feed");
        if (text.Contains('\r')) throw new FormatException("carriage return in the exposition: lines end with \\n only");
        var families = new Dictionary<string, Family>();
        var seen = new HashSet<string>();
        int number = 0;
        foreach (var line in text[..^Math.Min(1, text.Length)].Split('\n'))
        {
            number++;
            string where = $"line {number} '{line}'";
            if (line.Length == 0) continue;
            if (line.StartsWith('#'))
            {
                var parts = line.Split(' ', 4);
                if (parts.Length >= 3 && parts[0] == "#" && parts[1] == "TYPE")
                {
                    if (parts.Length != 4 || !Types.Contains(parts[3])) throw new FormatException($"{where}: bad TYPE");
                    if (!MetricName().IsMatch(parts[2])) throw new FormatException($"{where}: bad metric name");
                    if (families.ContainsKey(parts[2])) throw new FormatException($"{where}: a second TYPE for {parts[2]}");
                    families[parts[2]] = new Family(parts[2], parts[3], []);
                }
                else if (parts.Length >= 3 && parts[0] == "#" && parts[1] == "HELP")
                {
                    if (!MetricName().IsMatch(parts[2])) throw new FormatException($"{where}: bad metric name");
                    if (parts.Length == 4) CheckHelpEscapes(parts[3], where);
                }
                continue;
            }
            var sample = ParseSample(line, where);
            var family = FamilyOf(sample.Name, families) ?? throw new FormatException($"{where}: no TYPE declared before the sample");
            string key = sample.Name + "{" + string.Join(",", sample.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")) + "}";
            if (!seen.Add(key)) throw new FormatException($"{where}: the sample {key} repeats");
            if (family.Type == "counter" && !(sample.Value >= 0)) throw new FormatException($"{where}: a counter below 0");
            family.Samples.Add(sample);
        }
        foreach (var family in families.Values.Where(f => f.Type == "histogram")) CheckHistogram(family);
        return families;
    }

    /// <summary>The value of the sample <paramref name="name"/> with exactly <paramref name="labels"/>, or null.</summary>
    public static double? Value(Dictionary<string, Family> families, string name, params (string Name, string Value)[] labels)
    {
        var family = FamilyOf(name, families);
        var match = family?.Samples.SingleOrDefault(s => s.Name == name && s.Labels.Count == labels.Length && labels.All(l => s.Labels.TryGetValue(l.Name, out var v) && v == l.Value));
        return match?.Value;
    }

    private static Family? FamilyOf(string sampleName, Dictionary<string, Family> families)
    {
        if (families.TryGetValue(sampleName, out var f) && f.Type != "histogram" && f.Type != "summary") return f;
        foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
        {
            if (sampleName.EndsWith(suffix, StringComparison.Ordinal) && families.TryGetValue(sampleName[..^suffix.Length], out var h)
                && (h.Type == "histogram" || (h.Type == "summary" && suffix != "_bucket")))
                return h;
        }
        return families.TryGetValue(sampleName, out var s) && s.Type == "summary" ? s : null;
    }

    private static Sample ParseSample(string line, string where)
    {
        int i = 0;
        while (i < line.Length && line[i] != '{' && line[i] != ' ') i++;
        string name = line[..i];
        if (!MetricName().IsMatch(name)) throw new FormatException($"{where}: bad metric name '{name}'");
        var labels = new Dictionary<string, string>();
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (true)
            {
                if (i < line.Length && line[i] == '}')
                {
                    i++;
                    break;
                }
                int eq = line.IndexOf('=', i);
                if (eq < 0) throw new FormatException($"{where}: a label without '='");
                string labelName = line[i..eq];
                if (!LabelName().IsMatch(labelName)) throw new FormatException($"{where}: bad label name '{labelName}'");
                i = eq + 1;
                if (i >= line.Length || line[i] != '"') throw new FormatException($"{where}: a label value without quotes");
                i++;
                var value = new StringBuilder();
                while (true)
                {
                    if (i >= line.Length) throw new FormatException($"{where}: an unterminated label value");
                    char c = line[i++];
                    if (c == '"') break;
                    if (c == '\\')
                    {
                        if (i >= line.Length) throw new FormatException($"{where}: a dangling escape");
                        value.Append(line[i++] switch
                        {
                            '\\' => '\\',
                            '"' => '"',
                            'n' => '\n',
                            var other => throw new FormatException($"{where}: the escape \\{other} is not allowed in a label value"),
                        });
                    }
                    else value.Append(c);
                }
                if (!labels.TryAdd(labelName, value.ToString())) throw new FormatException($"{where}: the label {labelName} repeats");
                if (i < line.Length && line[i] == ',') i++;
                else if (i >= line.Length || line[i] != '}') throw new FormatException($"{where}: labels not separated by ','");
            }
        }
        if (i >= line.Length || line[i] != ' ') throw new FormatException($"{where}: no space before the value");
        var rest = line[(i + 1)..].Split(' ');
        if (rest.Length is < 1 or > 2) throw new FormatException($"{where}: expected a value and at most a timestamp");
        double v = ParseValue(rest[0], where);
        if (rest.Length == 2 && !long.TryParse(rest[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
            throw new FormatException($"{where}: the timestamp is not an integer");
        return new Sample(name, labels, v);
    }

    private static double ParseValue(string text, string where) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : throw new FormatException($"{where}: '{text}' is not a number"),
    };

    private static void CheckHelpEscapes(string help, string where)
    {
        for (int i = 0; i < help.Length; i++)
        {
            if (help[i] != '\\') continue;
            if (i + 1 >= help.Length || (help[i + 1] != '\\' && help[i + 1] != 'n')) throw new FormatException($"{where}: a bad escape in HELP");
            i++;
        }
    }

    private static void CheckHistogram(Family family)
    {
        var byLabels = family.Samples.GroupBy(s => string.Join(",", s.Labels.Where(l => l.Key != "le").OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")));
        foreach (var series in byLabels)
        {
            var buckets = series.Where(s => s.Name == family.Name + "_bucket")
                .Select(s => (Le: s.Labels.TryGetValue("le", out var le) ? ParseValue(le, $"{family.Name} le") : throw new FormatException($"{family.Name}: a bucket without le"), s.Value)).ToList();
            var count = series.SingleOrDefault(s => s.Name == family.Name + "_count") ?? throw new FormatException($"{family.Name}{{{series.Key}}}: no _count");
            _ = series.SingleOrDefault(s => s.Name == family.Name + "_sum") ?? throw new FormatException($"{family.Name}{{{series.Key}}}: no _sum");
            if (buckets.Count == 0 || !double.IsPositiveInfinity(buckets[^1].Le)) throw new FormatException($"{family.Name}{{{series.Key}}}: the last bucket is not le=\"+Inf\"");
            for (int k = 1; k < buckets.Count; k++)
            {
                if (!(buckets[k].Le > buckets[k - 1].Le)) throw new FormatException($"{family.Name}{{{series.Key}}}: le not ascending");
                if (buckets[k].Value < buckets[k - 1].Value) throw new FormatException($"{family.Name}{{{series.Key}}}: buckets not cumulative");
            }
            if (buckets[^1].Value != count.Value) throw new FormatException($"{family.Name}{{{series.Key}}}: the +Inf bucket ({buckets[^1].Value}) is not _count ({count.Value})");
        }
    }
}
