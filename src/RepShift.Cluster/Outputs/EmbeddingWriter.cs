namespace RepShift.Cluster.Outputs;

/// <summary>
/// Receives embedded records batch by batch, in input order. A file is written under a temporary name and renamed
/// into place by <see cref="Complete"/>, so a reader never sees half a file and a killed run leaves none; disposing
/// without completing deletes the temporary file.
/// </summary>
public abstract class EmbeddingWriter : IDisposable
{
    /// <summary>Writes <paramref name="records"/>' results; <paramref name="firstIndex"/> is the 0-based position of the first in the whole output.</summary>
    public abstract void Write(IReadOnlyList<InputRecord> records, long firstIndex, EmbeddingResult result);

    /// <summary>Flushes and moves the file to its final name.</summary>
    public abstract void Complete();

    public abstract void Dispose();

    /// <summary>Picks the writer from the output's name: ".parquet" → Parquet, anything else (or null/"-" for stdout) → JSON lines.</summary>
    public static EmbeddingWriter Create(string? path, int dimension, bool includeIds) =>
        path is not null && path != "-" && path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase)
            ? new ParquetEmbeddingWriter(path, dimension)
            : new JsonLinesEmbeddingWriter(path, includeIds);

    /// <summary>A temporary name beside <paramref name="path"/> (same folder, so the rename is atomic), unique to this process.</summary>
    internal static string TemporaryName(string path) =>
        System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!,
            $".{System.IO.Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
}
