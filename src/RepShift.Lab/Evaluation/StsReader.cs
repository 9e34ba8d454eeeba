using System.Globalization;

namespace RepShift.Evaluation;

/// <summary>File layouts of sentence-similarity data.</summary>
public enum StsFormat
{
    /// <summary>SICK: tab-separated with a header naming sentence_A, sentence_B and relatedness_score (1–5).</summary>
    Sick,

    /// <summary>STS Benchmark: tab-separated genre, file, year, id, score (0–5), sentence1, sentence2; no header.</summary>
    Stsb,
}

/// <summary>Reads sentence pairs with human scores. Every error names the file, the line and what was expected.</summary>
public static class StsReader
{
    public static List<ScoredPair> Read(string path, StsFormat format) => format switch
    {
        StsFormat.Sick => ReadSick(path),
        StsFormat.Stsb => ReadStsb(path),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
    };

    public static List<ScoredPair> ReadSick(string path)
    {
        var lines = Utf8File.ReadLines(path);
        // Columns are found by name: the full SICK release has more columns, in another order, than the SemEval files.
        string[] header = lines.Length > 0 ? lines[0].Split('\t') : [];
        int a = Array.IndexOf(header, "sentence_A"), b = Array.IndexOf(header, "sentence_B"), s = Array.IndexOf(header, "relatedness_score");
        if (a < 0 || b < 0 || s < 0)
            throw new RepShiftException($"{path}: line 1: expected a tab-separated SICK header naming sentence_A, sentence_B and relatedness_score, "
                + $"found '{Utf8File.Excerpt(lines.Length > 0 ? lines[0] : "")}'");
        var pairs = new List<ScoredPair>(lines.Length);
        for (int i = 1; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            var cols = lines[i].Split('\t');
            if (cols.Length != header.Length)
                throw new RepShiftException($"{path}: line {i + 1}: expected {header.Length} tab-separated columns like the header, found {cols.Length}");
            pairs.Add(new ScoredPair(Sentence(path, i + 1, cols[a], "sentence_A"), Sentence(path, i + 1, cols[b], "sentence_B"),
                Score(path, i + 1, cols[s], "relatedness_score", 1, 5)));
        }
        return NotEmpty(path, pairs);
    }

    public static List<ScoredPair> ReadStsb(string path)
    {
        var lines = Utf8File.ReadLines(path);
        var pairs = new List<ScoredPair>(lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            var cols = lines[i].Split('\t');
            // Some STS Benchmark releases carry extra trailing columns (licence, source); only the first seven matter.
            if (cols.Length < 7)
                throw new RepShiftException($"{path}: line {i + 1}: expected 7 tab-separated columns (genre, file, year, id, score, sentence1, sentence2), found {cols.Length}");
            pairs.Add(new ScoredPair(Sentence(path, i + 1, cols[5], "sentence1"), Sentence(path, i + 1, cols[6], "sentence2"),
                Score(path, i + 1, cols[4], "score", 0, 5)));
        }
        return NotEmpty(path, pairs);
    }

    private static string Sentence(string path, int line, string text, string column) =>
        string.IsNullOrWhiteSpace(text) ? throw new RepShiftException($"{path}: line {line}: {column} is empty; expected a sentence") : text;

    private static double Score(string path, int line, string text, string column, double min, double max)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double score) || !double.IsFinite(score))
            throw new RepShiftException($"{path}: line {line}: {column} '{Utf8File.Excerpt(text)}' is not a number; expected a score from {min} to {max}");
        // Rank correlation would accept any range; a score outside it means the columns are not what we think.
        if (score < min || score > max)
            throw new RepShiftException($"{path}: line {line}: {column} {text} is out of range; expected a score from {min} to {max}");
        return score;
    }

    private static List<ScoredPair> NotEmpty(string path, List<ScoredPair> pairs) =>
        pairs.Count > 0 ? pairs : throw new RepShiftException($"{path}: holds no sentence pairs");
}
