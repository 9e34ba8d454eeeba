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
    /// <param name="path">The output file; null or "-" for stdout.</param>
    /// <param name="dimension">The model's dimension.</param>
    /// <param name="includeIds">Write each record's id (JSON lines; Parquet always has the column).</param>
    /// <param name="format">Shortened or encoded vectors (JSON lines only); null or the model's full float vectors: as they come.</param>
    public static EmbeddingWriter Create(string? path, int dimension, bool includeIds, Embeddings.VectorFormat? format = null)
    {
        bool plain = format is null || (format.Encoding == Embeddings.EmbeddingEncoding.Float && format.Dimensions == dimension);
        if (path is not null && path != "-" && path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase))
            return plain ? new ParquetEmbeddingWriter(path, dimension)
                : throw new RepShiftException("Parquet output holds the model's full float vectors: --dimensions and --encoding apply to JSON lines output only");
        return new JsonLinesEmbeddingWriter(path, includeIds, plain ? null : format);
    }

    /// <summary>
    /// Deletes the temporary files killed writers left in <paramref name="folder"/> for outputs whose names match
    /// <paramref name="pattern"/> (e.g. <c>shard-*.parquet</c>); only safe while nothing else writes such outputs there.
    /// </summary>
    public static void DeleteTemporaries(string folder, string pattern)
    {
        foreach (string stale in Directory.GetFiles(folder, $".{pattern}.*.tmp")) File.Delete(stale);
    }

    /// <summary>A temporary name beside <paramref name="path"/> (same folder, so the rename is atomic), unique to this process.</summary>
    internal static string TemporaryName(string path) =>
        System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!,
            $".{System.IO.Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
}
