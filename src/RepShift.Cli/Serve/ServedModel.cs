using RepShift.Compression;

namespace RepShift.Cli.Serve;

/// <summary>
/// One model a server answers for: its engine, its own <see cref="MicroBatcher"/> (requests batch only with requests
/// for the same model) and the compression plans a request may pick.
/// </summary>
internal sealed class ServedModel
{
    private readonly Dictionary<string, (string Key, CompressionPlan Plan)> _presets;

    public ServedModel(TextEmbedder embedder, MicroBatcher batcher)
    {
        Embedder = embedder;
        Batcher = batcher;
        _presets = Presets.Names.ToDictionary(n => n, n => Keyed(Presets.Get(n, embedder.ModelName)));
        foreach (var (_, plan) in _presets.Values) plan.Validate(embedder.Encoder.Config.Layers, embedder.ModelName);
        ServerPlan = Keyed(embedder.Options.Compression);
    }

    public TextEmbedder Embedder { get; }
    public MicroBatcher Batcher { get; }
    public string Name => Embedder.ModelName;
    public int Dimension => Embedder.Dimension;

    /// <summary>The server's default plan (<c>--preset</c>/<c>--plan</c>) with its batching key.</summary>
    public (string Key, CompressionPlan Plan) ServerPlan { get; }

    /// <summary>The plan a request asked for by preset name (null: the server's), with its batching key.</summary>
    public (string Key, CompressionPlan Plan) Plan(string? preset) => preset is { } p ? _presets[p] : ServerPlan;

    /// <summary>Whether a request's <c>model</c> names this model: its name, or its name behind <see cref="EmbeddingRequest.ModelPrefix"/> (case-insensitive).</summary>
    public bool Answers(string requested) =>
        requested.Equals(Name, StringComparison.OrdinalIgnoreCase) || requested.Equals(EmbeddingRequest.ModelPrefix + Name, StringComparison.OrdinalIgnoreCase);

    /// <summary>Requests batch together when their plans act alike: any dense plan, or equal settings.</summary>
    private static (string Key, CompressionPlan Plan) Keyed(CompressionPlan plan) => (plan.IsDense ? "dense" : (plan with { Model = null }).ToJson(), plan);
}
