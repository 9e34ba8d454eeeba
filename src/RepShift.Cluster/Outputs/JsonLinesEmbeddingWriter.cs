using System.Text.Json;
using RepShift.Embeddings;

namespace RepShift.Cluster.Outputs;

/// <summary>
/// One JSON line per text: {"index":0,"tokens":12,"token_layers":72,"embedding":[...]}, with "id" after "index"
/// when the input has ids. Floats are written as the shortest text that reads back to the same bits.
/// </summary>
public sealed class JsonLinesEmbeddingWriter : EmbeddingWriter
{
    private readonly Stream _stream;
    private readonly Utf8JsonWriter _json;
    private readonly string? _path, _temporary;
    private readonly bool _includeIds;
    private readonly Embeddings.VectorFormat? _format;
    private bool _completed;

    /// <param name="path">The output file, or null/"-" for stdout (written as it goes, nothing to rename).</param>
    /// <param name="includeIds">Write each record's "id" (inputs with ids of their own: JSONL, Parquet, folders).</param>
    /// <param name="format">When given, each line holds the shortened or encoded vector and says so ("dimensions", "encoding").</param>
    public JsonLinesEmbeddingWriter(string? path, bool includeIds, Embeddings.VectorFormat? format = null)
    {
        _includeIds = includeIds;
        _format = format;
        if (path is null or "-") _stream = Console.OpenStandardOutput();
        else
        {
            _path = path;
            _temporary = TemporaryName(path);
            _stream = new FileStream(_temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        }
        _json = new Utf8JsonWriter(_stream, new JsonWriterOptions { SkipValidation = true });
    }

    public override void Write(IReadOnlyList<InputRecord> records, long firstIndex, EmbeddingResult result)
    {
        for (int i = 0; i < records.Count; i++)
        {
            _json.WriteStartObject();
            _json.WriteNumber("index", firstIndex + i);
            if (_includeIds) _json.WriteString("id", records[i].Id);
            _json.WriteNumber("tokens", result.Tokens[i]);
            _json.WriteNumber("token_layers", result.TokenLayers[i]);
            if (_format is null)
            {
                _json.WriteStartArray("embedding");
                foreach (float v in result.Vectors[i]) _json.WriteNumberValue(v);
                _json.WriteEndArray();
            }
            else
            {
                _json.WriteNumber("dimensions", _format.Dimensions);
                _json.WriteString("encoding", _format.Encoding.Name());
                _json.WritePropertyName("embedding");
                _format.WriteJsonArray(_json, result.Vectors[i]);
            }
            _json.WriteEndObject();
            _json.Flush();
            _stream.WriteByte((byte)'\n');
            _json.Reset();
        }
    }

    public override void Complete()
    {
        _json.Flush();
        _stream.Flush();
        _stream.Dispose();
        if (_temporary != null) File.Move(_temporary, _path!, overwrite: true);
        _completed = true;
    }

    public override void Dispose()
    {
        if (_completed) return;
        _json.Dispose();
        _stream.Dispose();
        if (_temporary != null) File.Delete(_temporary);
    }
}
