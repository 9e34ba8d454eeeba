namespace RepShift.Cluster.Orleans;

/// <summary>The one engine of a node (a silo), shared by its worker grains, with its signature computed once.</summary>
public sealed class NodeEngine(TextEmbedder embedder, string name) : IDisposable
{
    public TextEmbedder Embedder { get; } = embedder;
    public EngineSignature Signature { get; } = EngineSignature.Of(embedder);
    /// <summary>How this node names itself in outcomes and errors (host:port).</summary>
    public string Name { get; } = name;

    public void Dispose() => Embedder.Dispose();
}
