namespace RepShift.Cluster.Inputs;

/// <summary>How an input holds its texts; chosen from the path (a folder, .jsonl/.ndjson, .parquet, anything else is text lines).</summary>
public enum InputFormat
{
    /// <summary>One text per line; the id is the line's 0-based index.</summary>
    Lines,
    /// <summary>One JSON object per line: {"id": …, "text": …}; blank lines are skipped, a missing id is the line's 0-based index.</summary>
    JsonLines,
    /// <summary>A Parquet file with a string text column (and an "id" column, when present).</summary>
    Parquet,
    /// <summary>A folder of .txt files, nested folders included, one document each; the id is the file's path relative to the folder.</summary>
    Folder,
}
