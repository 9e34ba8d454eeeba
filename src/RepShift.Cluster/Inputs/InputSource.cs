using System.Text.Json;
using Parquet;
using Parquet.Schema;

namespace RepShift.Cluster.Inputs;

/// <summary>
/// One input of texts (a file, stdin as "-", or a folder), read as a stream of <see cref="InputRecord"/>s from any
/// record on, so a shard of a bulk job reads only its own part and memory never holds more than one record
/// (one Parquet row group for Parquet input).
/// </summary>
public sealed class InputSource
{
    private List<string>? _folderFiles;

    private InputSource(string path, InputFormat format, string textColumn)
    {
        Path = path;
        Format = format;
        TextColumn = textColumn;
    }

    public string Path { get; }
    public InputFormat Format { get; }
    /// <summary>The Parquet column that holds the texts.</summary>
    public string TextColumn { get; }

    /// <summary>Recognises the input's format from <paramref name="path"/>; errors name the path and what was expected.</summary>
    public static InputSource Open(string path, string textColumn = "text")
    {
        if (path == "-") return new InputSource(path, InputFormat.Lines, textColumn);
        if (Directory.Exists(path)) return new InputSource(path, InputFormat.Folder, textColumn);
        if (!File.Exists(path)) throw new RepShiftException($"{path}: not found; expected a text file (one text per line), .jsonl, .parquet or a folder of .txt files");
        string ext = System.IO.Path.GetExtension(path).ToLowerInvariant();
        var format = ext switch
        {
            ".jsonl" or ".ndjson" => InputFormat.JsonLines,
            ".parquet" => InputFormat.Parquet,
            _ => InputFormat.Lines,
        };
        return new InputSource(path, format, textColumn);
    }

    /// <summary>The folder's documents (relative paths), listed once.</summary>
    public IReadOnlyList<string> FolderFiles => _folderFiles ??= FolderDocuments.List(Path);

    /// <summary>Files of a folder input decoded as Windows-1252 because they were not valid UTF-8 (see <see cref="FolderDocuments.Read"/>).</summary>
    public int Recoded { get; private set; }

    /// <summary>
    /// Records from record <paramref name="start"/> on, at most <paramref name="count"/>. For line formats
    /// <paramref name="byteOffset"/> is where line <paramref name="start"/> begins (from <see cref="LineIndex"/>), so
    /// nothing before it is read; for the other formats it is ignored.
    /// </summary>
    public IEnumerable<InputRecord> Read(long start = 0, long count = long.MaxValue, long byteOffset = 0) => Format switch
    {
        InputFormat.Lines => ReadLines(start, count, byteOffset, json: false),
        InputFormat.JsonLines => ReadLines(start, count, byteOffset, json: true),
        InputFormat.Parquet => ReadParquet(start, count),
        _ => ReadFolder(start, count),
    };

    private IEnumerable<InputRecord> ReadLines(long start, long count, long byteOffset, bool json)
    {
        Stream stream;
        if (Path == "-") stream = Console.OpenStandardInput();
        else
        {
            stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            stream.Position = byteOffset;
        }
        string source = Path == "-" ? "standard input" : Path;
        using var reader = new Utf8LineReader(stream, source, firstLine: start + 1);
        for (long index = start; index < start + count; index++)
        {
            if (reader.ReadLine() is not { } line) yield break;
            if (!json)
            {
                yield return new InputRecord(index.ToString(System.Globalization.CultureInfo.InvariantCulture), line);
                continue;
            }
            if (string.IsNullOrWhiteSpace(line)) continue;
            yield return ParseJsonLine(line, index, source);
        }
    }

    private static InputRecord ParseJsonLine(string line, long index, string source)
    {
        string? id = null, text = null;
        try
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new RepShiftException($"{source}: line {index + 1}: expected a JSON object {{\"id\": …, \"text\": …}}");
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.NameEquals("text"))
                    text = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : throw new RepShiftException($"{source}: line {index + 1}: \"text\" must be a string");
                else if (p.NameEquals("id"))
                    id = p.Value.ValueKind switch
                    {
                        JsonValueKind.String => p.Value.GetString(),
                        JsonValueKind.Number => p.Value.GetRawText(),
                        _ => throw new RepShiftException($"{source}: line {index + 1}: \"id\" must be a string or a number"),
                    };
            }
        }
        catch (JsonException e)
        {
            throw new RepShiftException($"{source}: line {index + 1} is not valid JSON ({e.Message})");
        }
        if (text is null) throw new RepShiftException($"{source}: line {index + 1} has no \"text\" field");
        return new InputRecord(id ?? index.ToString(System.Globalization.CultureInfo.InvariantCulture), text);
    }

    private IEnumerable<InputRecord> ReadFolder(long start, long count)
    {
        var files = FolderFiles;
        long end = Math.Min(files.Count, start + Math.Min(count, files.Count));
        for (long i = start; i < end; i++)
        {
            string text = FolderDocuments.Read(System.IO.Path.Combine(Path, files[(int)i]), out bool recoded);
            if (recoded) Recoded++;
            yield return new InputRecord(files[(int)i], text);
        }
    }

    private IEnumerable<InputRecord> ReadParquet(long start, long count)
    {
        using var file = new ParquetFile(Path);
        var reader = file.Reader;
        var fields = reader.Schema.GetDataFields();
        var textField = fields.FirstOrDefault(f => f.Name == TextColumn)
            ?? throw new RepShiftException($"{Path}: no column \"{TextColumn}\" (columns: {string.Join(", ", fields.Select(f => f.Name))}); name the text column with --text-column");
        if (!IsText(textField)) throw new RepShiftException($"{Path}: column \"{TextColumn}\" holds {textField.ClrType.Name}, not text");
        var idField = fields.FirstOrDefault(f => f.Name == "id" && IsText(f));
        long first = 0;
        for (int g = 0; g < reader.RowGroupCount && first < start + count; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            long rows = group.RowCount;
            if (first + rows <= start) { first += rows; continue; }
            var texts = new string?[rows];
            Sync(group.ReadAsync(textField, texts.AsMemory()));
            string?[]? ids = null;
            if (idField != null)
            {
                ids = new string?[rows];
                Sync(group.ReadAsync(idField, ids.AsMemory()));
            }
            for (long r = Math.Max(0, start - first); r < rows && first + r < start + count; r++)
            {
                long index = first + r;
                string text = texts[r] ?? throw new RepShiftException($"{Path}: row {index} has no text (null in \"{TextColumn}\")");
                yield return new InputRecord(ids?[r] ?? index.ToString(System.Globalization.CultureInfo.InvariantCulture), text);
            }
            first += rows;
        }
    }

    // Parquet.Net describes string columns as ReadOnlyMemory<char> (or string when asked to).
    private static bool IsText(DataField f) => f.ClrType == typeof(string) || f.ClrType == typeof(ReadOnlyMemory<char>);

    /// <summary>Records in the input: a pass over a line file, the folder's listing, a Parquet file's metadata.</summary>
    public long CountRecords() => Format switch
    {
        InputFormat.Lines or InputFormat.JsonLines => LineIndex(long.MaxValue).Lines,
        InputFormat.Parquet => CountParquetRows(),
        _ => FolderFiles.Count,
    };

    private long CountParquetRows()
    {
        using var file = new ParquetFile(Path);
        var reader = file.Reader;
        long rows = 0;
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            rows += group.RowCount;
        }
        return rows;
    }

    /// <summary>
    /// One pass over a line file's bytes: its line count and the byte offset where every
    /// <paramref name="every"/>-th line begins (line 0 first), so shards can start reading there.
    /// </summary>
    public (long Lines, List<long> Offsets) LineIndex(long every)
    {
        if (Path == "-") throw new RepShiftException("a bulk job cannot read standard input; give files");
        var offsets = new List<long> { 0 };
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var buffer = new byte[1 << 16];
        long lines = 0, position = 0;
        bool pending = false; // bytes after the last '\n' form one more line
        int n;
        while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            var span = buffer.AsSpan(0, n);
            int at = 0;
            while (span[at..].IndexOf((byte)'\n') is var i and >= 0)
            {
                at += i + 1;
                lines++;
                if (lines % every == 0) offsets.Add(position + at);
            }
            pending = at < n;
            position += n;
        }
        if (pending) lines++;
        if (offsets.Count > 1 && offsets[^1] == position && !pending && lines % every == 0) offsets.RemoveAt(offsets.Count - 1);
        return (lines, offsets);
    }

    internal static T Sync<T>(Task<T> task) => task.GetAwaiter().GetResult();
    internal static T Sync<T>(ValueTask<T> task) => task.GetAwaiter().GetResult();
    internal static void Sync(Task task) => task.GetAwaiter().GetResult();
    internal static void Sync(ValueTask task) => task.GetAwaiter().GetResult();
}
