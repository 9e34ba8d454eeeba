using Microsoft.Extensions.DependencyInjection;

namespace RepShift.Cluster.Orleans;

/// <summary>Adds a node's engine to a silo: the worker grains of this assembly take it from the silo's services.</summary>
public static class NodeHosting
{
    /// <param name="silo">The silo being built.</param>
    /// <param name="load">Loads the engine once, when the silo first needs it.</param>
    public static ISiloBuilder AddEmbeddingNode(this ISiloBuilder silo, Func<TextEmbedder> load)
    {
        silo.Services.AddSingleton(sp => new NodeEngine(load(), sp.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToString()));
        return silo;
    }
}
