using Parquet;
using Parquet.Schema;
using RepShift.Cluster.Inputs;
using static RepShift.Cluster.Inputs.InputSource;

namespace RepShift.Cluster.Outputs;

/// <summary>
/// The Parquet layout of embeddings: id (string), embedding (a list of float32, every row exactly the model's
/// dimension, which the file's key-value metadata "embedding_dimension" states: Parquet has no fixed-size list
/// type, Arrow's FixedSizeList is stored as this same LIST), tokens and token_layers (int32).
/// </summary>
public static class EmbeddingParquet
{
    public const string DimensionKey = "embedding_dimension";

    public static readonly DataField<string> Id = new("id", nullable: false);
    public static readonly DataField<float> Element = new("element", nullable: false);
    public static readonly ListField Embedding = new("embedding", Element);
    public static readonly DataField<int> Tokens = new("tokens", nullable: false);
    public static readonly DataField<int> TokenLayers = new("token_layers", nullable: false);
    public static readonly ParquetSchema Schema = new(Id, Embedding, Tokens, TokenLayers);

    /// <summary>One row read back.</summary>
    public readonly record struct Row(string Id, float[] Embedding, int Tokens, int TokenLayers);

    /// <summary>Reads a whole file (tests, checks and small outputs; a bulk job's files are read one at a time).</summary>
    public static List<Row> ReadAll(string path)
    {
        using var file = new ParquetFile(path);
        var reader = file.Reader;
        var fields = reader.Schema.GetDataFields();
        DataField Field(string name) => fields.FirstOrDefault(f => f.Path.ToString().Split('/')[0] == name)
            ?? throw new RepShiftException($"{path}: no \"{name}\" column; not an embeddings file");
        var (idField, elementField, tokensField, layersField) = (Field("id"), Field("embedding"), Field("tokens"), Field("token_layers"));
        var rows = new List<Row>();
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            int n = checked((int)group.RowCount);
            var ids = new string?[n];
            Sync(group.ReadAsync(idField, ids.AsMemory()));
            var tokens = new int[n];
            Sync(group.ReadAsync(tokensField, tokens.AsMemory()));
            var layers = new int[n];
            Sync(group.ReadAsync(layersField, layers.AsMemory()));
            long values = group.GetMetadata(elementField)?.MetaData?.NumValues ?? throw new RepShiftException($"{path}: row group {g} has no embedding column metadata");
            var flat = new float[values];
            var repetition = new int[values];
            var definition = new int[values];
            Sync(group.ReadRawAsync(elementField, flat.AsMemory(), definition.AsMemory(), repetition.AsMemory()));
            if (definition.Any(d => d != elementField.MaxDefinitionLevel)) throw new RepShiftException($"{path}: row group {g} has a missing embedding or a null value in one");
            int row = -1, start = 0;
            var vectors = new float[n][];
            for (int i = 0; i <= flat.Length; i++)
            {
                if (i < flat.Length && repetition[i] != 0) continue;
                if (row >= 0) vectors[row] = flat[start..i];
                row++;
                start = i;
            }
            if (row != n) throw new RepShiftException($"{path}: row group {g} holds {row} embeddings for {n} rows");
            for (int i = 0; i < n; i++) rows.Add(new Row(ids[i]!, vectors[i], tokens[i], layers[i]));
        }
        return rows;
    }
}
