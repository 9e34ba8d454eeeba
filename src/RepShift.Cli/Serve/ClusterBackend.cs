using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RepShift.Cluster;
using RepShift.Cluster.Orleans;

namespace RepShift.Cli.Serve;

/// <summary>
/// <c>serve --cluster</c>: the Orleans client a front end forwards its batches through. It connects in the background
/// (retrying until the nodes are up), so the server listens at once and turns ready when the cluster has answered the
/// readiness probe. The front end still loads the model itself: for tokenizing checks, dimensions and presets, and for
/// the engine signature the nodes compare with theirs; it runs the encoder only for that signature and the probe.
/// </summary>
internal sealed class ClusterBackend : IAsyncDisposable
{
    private readonly IHost _client;
    private readonly Task _connected;
    private readonly TimeSpan _timeout;

    private ClusterBackend(IHost client, TimeSpan timeout)
    {
        _client = client;
        _timeout = timeout;
        _connected = client.StartAsync();
    }

    /// <param name="address">The cluster (localhost or PostgreSQL).</param>
    /// <param name="gatewayPorts">Localhost: the nodes' gateway ports.</param>
    /// <param name="timeout">How long a batch may wait for the cluster before it is answered 503.</param>
    public static ClusterBackend Start(ClusterAddress address, int[] gatewayPorts, TimeSpan timeout)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // A node dying is routine here: its connection errors are answered by retries, not logged as failures.
        builder.Logging.AddFilter("Orleans", LogLevel.Error);
        builder.UseOrleansClient(c => c.UseRepShiftCluster(address, gatewayPorts));
        builder.Services.AddSingleton<IClientConnectionRetryFilter, RetryConnection>();
        return new ClusterBackend(builder.Build(), timeout);
    }

    /// <summary>The encoder call for <paramref name="embedder"/>'s model: its texts go to the cluster's nodes.</summary>
    public MicroBatcher.EmbedFunction EmbedFunction(TextEmbedder embedder)
    {
        var cluster = new ClusterEmbedder(_client.Services.GetRequiredService<IClusterClient>(), EngineSignature.Of(embedder), _timeout);
        return (texts, plan, prompt, cancellation) =>
        {
            bool settled;
            try { settled = _connected.Wait(_timeout, cancellation); }
            catch (AggregateException) { settled = true; }
            if (!settled)
                throw new ClusterUnavailableException($"the cluster did not accept a connection within {_timeout.TotalSeconds:0.#} s; start `repshift node` with this server's --cluster", "cluster_unavailable");
            if (_connected.IsFaulted) throw new ClusterUnavailableException($"cannot connect to the cluster: {_connected.Exception!.GetBaseException().Message}", "cluster_unavailable");
            return cluster.Embed(texts, plan, prompt, cancellation);
        };
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _client.StopAsync(stop.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException)
        {
            // Never connected, or the nodes are gone: nothing to close politely.
        }
        _client.Dispose();
    }
}
