namespace RepShift.Evaluation;

/// <summary>File layouts of query → document data.</summary>
public enum RetrievalFormat
{
    /// <summary>A folder of .txt files (nested folders allowed): the first non-empty line is the query, the rest the document.</summary>
    Headlines,

    /// <summary>One pair per line: <c>id&lt;TAB&gt;query&lt;TAB&gt;document</c>.</summary>
    Tsv,
}

/// <summary>Reads queries each paired with the one document it should retrieve. Every error names the file and what was expected.</summary>
public static class RetrievalReader
{
    // A data folder's own notes (BBC News has SOURCE.txt at the top) are not query/document files.
    internal static readonly HashSet<string> MetadataNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "README", "LICENSE", "LICENCE", "SOURCE", "NOTICE", "COPYING", "CITATION", "AUTHORS", "CHANGELOG",
    };

    public static List<QueryDocument> Read(string path, RetrievalFormat format, DataNotes? notes = null) => format switch
    {
        RetrievalFormat.Headlines => ReadHeadlines(path, notes),
        RetrievalFormat.Tsv => ReadTsv(path),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
    };

    /// <summary>Reads a folder of .txt files sorted by path; metadata files (README.txt, SOURCE.txt, …) are left out and, like files decoded as Windows-1252, listed in <paramref name="notes"/>.</summary>
    public static List<QueryDocument> ReadHeadlines(string folder, DataNotes? notes = null)
    {
        if (!Directory.Exists(folder)) throw new RepShiftException($"{folder}: folder not found; expected a folder of .txt files whose first line is the query and the rest the document");
        var items = new List<QueryDocument>();
        foreach (string file in TextFiles.Under(folder))
        {
            if (MetadataNames.Contains(Path.GetFileNameWithoutExtension(file)))
            {
                notes?.Skipped.Add(file);
                continue;
            }
            var lines = Utf8File.SplitLines(Utf8File.ReadDocument(file, notes));
            int q = Array.FindIndex(lines, l => !string.IsNullOrWhiteSpace(l));
            if (q < 0) throw new RepShiftException($"{file}: the file is empty; expected the query on the first line and the document below it");
            string document = string.Join('\n', lines, q + 1, lines.Length - q - 1).Trim();
            if (document.Length == 0)
                throw new RepShiftException($"{file}: line {q + 1} holds the query but no document follows; expected the document on the lines below it");
            string id = Path.ChangeExtension(Path.GetRelativePath(folder, file), null).Replace('\\', '/');
            items.Add(new QueryDocument(id, lines[q].Trim(), document));
        }
        if (items.Count == 0) throw new RepShiftException($"{folder}: holds no .txt files; expected files whose first line is the query and the rest the document");
        return items;
    }

    /// <summary>Reads lines <c>id&lt;TAB&gt;query&lt;TAB&gt;document</c>; blank lines are skipped, ids must be unique.</summary>
    public static List<QueryDocument> ReadTsv(string path)
    {
        var lines = Utf8File.ReadLines(path);
        var items = new List<QueryDocument>(lines.Length);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            var cols = lines[i].Split('\t');
            if (cols.Length != 3)
                throw new RepShiftException($"{path}: line {i + 1}: expected 3 tab-separated columns (id, query, document), found {cols.Length}");
            string id = cols[0].Trim();
            if (id.Length == 0) throw new RepShiftException($"{path}: line {i + 1}: the id is empty; expected an id in the first column");
            if (string.IsNullOrWhiteSpace(cols[1])) throw new RepShiftException($"{path}: line {i + 1}: the query is empty; expected text in the second column");
            if (string.IsNullOrWhiteSpace(cols[2])) throw new RepShiftException($"{path}: line {i + 1}: the document is empty; expected text in the third column");
            if (!seen.TryAdd(id, i + 1))
                throw new RepShiftException($"{path}: line {i + 1}: id '{Utf8File.Excerpt(id)}' was already used on line {seen[id]}; expected unique ids");
            items.Add(new QueryDocument(id, cols[1].Trim(), cols[2].Trim()));
        }
        if (items.Count == 0) throw new RepShiftException($"{path}: holds no query/document lines; expected lines id<TAB>query<TAB>document");
        return items;
    }
}
