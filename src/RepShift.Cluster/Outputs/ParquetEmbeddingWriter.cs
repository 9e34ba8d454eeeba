using Parquet;
using static RepShift.Cluster.Inputs.InputSource;

namespace RepShift.Cluster.Outputs;

/// <summary>Writes <see cref="EmbeddingParquet"/> files: one row group per batch written, so memory holds one batch.</summary>
public sealed class ParquetEmbeddingWriter : EmbeddingWriter
{
    private readonly FileStream _stream;
    private readonly ParquetWriter _writer;
    private readonly string _path, _temporary;
    private readonly int _dimension;
    private bool _completed, _closed;

    public ParquetEmbeddingWriter(string path, int dimension)
    {
        _path = path;
        _dimension = dimension;
        _temporary = TemporaryName(path);
        _stream = new FileStream(_temporary, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        _writer = Sync(ParquetWriter.CreateAsync(EmbeddingParquet.Schema, _stream));
        _writer.CustomMetadata = new Dictionary<string, string> { [EmbeddingParquet.DimensionKey] = dimension.ToString(System.Globalization.CultureInfo.InvariantCulture) };
    }

    public override void Write(IReadOnlyList<InputRecord> records, long firstIndex, EmbeddingResult result)
    {
        int n = records.Count;
        if (n == 0) return;
        var ids = new string[n];
        var flat = new float[n * _dimension];
        var repetition = new int[n * _dimension];
        // Every element is present: all at the deepest definition level (the list and its element defined).
        var definition = new int[n * _dimension];
        definition.AsSpan().Fill(EmbeddingParquet.Element.MaxDefinitionLevel);
        for (int i = 0; i < n; i++)
        {
            ids[i] = records[i].Id;
            if (result.Vectors[i].Length != _dimension) throw new RepShiftException($"embedding {firstIndex + i} has {result.Vectors[i].Length} values, expected {_dimension}");
            result.Vectors[i].CopyTo(flat, i * _dimension);
            // Repetition level 0 starts a row's list, 1 continues it.
            repetition.AsSpan(i * _dimension + 1, _dimension - 1).Fill(1);
        }
        using var group = _writer.CreateRowGroup();
        Sync(group.WriteAsync(EmbeddingParquet.Id, ids));
        Sync(group.WriteAllPartsAsync<float>(EmbeddingParquet.Element, flat, definition, repetition, default));
        Sync(group.WriteAsync<int>(EmbeddingParquet.Tokens, result.Tokens.AsMemory(0, n)));
        Sync(group.WriteAsync<int>(EmbeddingParquet.TokenLayers, result.TokenLayers.AsMemory(0, n)));
    }

    private void Close()
    {
        if (_closed) return;
        _closed = true;
        Sync(_writer.DisposeAsync());
        _stream.Dispose();
    }

    public override void Complete()
    {
        Close();
        File.Move(_temporary, _path, overwrite: true);
        _completed = true;
    }

    public override void Dispose()
    {
        Close();
        if (!_completed) File.Delete(_temporary);
    }
}
