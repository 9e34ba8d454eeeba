using Parquet;

namespace RepShift.Cluster.Inputs;

/// <summary>A Parquet reader opened and closed synchronously (the readers of this project are plain iterators).</summary>
internal sealed class ParquetFile(string path) : IDisposable
{
    public ParquetReader Reader { get; } = Open(path);

    private static ParquetReader Open(string path)
    {
        try { return InputSource.Sync(ParquetReader.CreateAsync(path)); }
        catch (IOException e) { throw new RepShiftException($"{path}: not a readable Parquet file ({e.Message})"); }
    }

    public void Dispose() => InputSource.Sync(Reader.DisposeAsync());
}
