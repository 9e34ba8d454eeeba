using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using RepShift.Cluster.Postgres;

namespace RepShift.Cluster.Orleans;

/// <summary>
/// Membership for nodes and clients from a <see cref="ClusterAddress"/>: Orleans' localhost clustering, or its ADO.NET
/// provider on PostgreSQL with our schema (<see cref="PostgresSchema"/>). Every node and client of one database
/// shares one cluster id.
/// </summary>
public static class ClusterHosting
{
    /// <summary>How often a client re-reads the gateways from the membership table (Orleans' default is a minute): a restarted node is used again within this.</summary>
    public static readonly TimeSpan GatewayRefresh = TimeSpan.FromSeconds(5);

    /// <summary>Applies the PostgreSQL schema when missing; nothing for localhost. Call before the host starts.</summary>
    public static Task PrepareAsync(ClusterAddress address, CancellationToken cancellation = default) =>
        address.ConnectionString is { } connection ? PostgresSchema.EnsureAsync(connection, cancellation) : Task.CompletedTask;

    /// <param name="silo">The node being built.</param>
    /// <param name="address">Where its membership is.</param>
    /// <param name="port">Its silo port (node to node).</param>
    /// <param name="gatewayPort">Its gateway port (clients: coordinators, front ends).</param>
    /// <param name="primaryPort">Localhost clustering: the first node's silo port, which the others join through.</param>
    /// <param name="advertise">PostgreSQL: the address other machines reach this node at (null: Orleans picks this machine's first non-loopback one).</param>
    /// <param name="clusterId">Orleans' cluster and service id (tests give each cluster its own).</param>
    public static ISiloBuilder UseRepShiftCluster(this ISiloBuilder silo, ClusterAddress address, int port, int gatewayPort, int primaryPort,
        IPAddress? advertise = null, string clusterId = ClusterAddress.DefaultClusterId)
    {
        if (address.ConnectionString is not { } connection)
            return silo.UseLocalhostClustering(port, gatewayPort, new IPEndPoint(IPAddress.Loopback, primaryPort));
        silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (clusterId, clusterId));
        silo.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = ("Npgsql", connection));
        if (advertise is null) silo.ConfigureEndpoints(port, gatewayPort, listenOnAnyHostAddress: true);
        else silo.ConfigureEndpoints(advertise, port, gatewayPort, listenOnAnyHostAddress: true);
        return silo;
    }

    /// <param name="client">The client being built (a coordinator or a front end).</param>
    /// <param name="address">Where the membership is.</param>
    /// <param name="gatewayPorts">Localhost clustering: the nodes' gateway ports (PostgreSQL lists the gateways itself).</param>
    /// <param name="clusterId">As the nodes'.</param>
    public static IClientBuilder UseRepShiftCluster(this IClientBuilder client, ClusterAddress address, int[] gatewayPorts, string clusterId = ClusterAddress.DefaultClusterId)
    {
        client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = GatewayRefresh);
        if (address.ConnectionString is not { } connection) return client.UseLocalhostClustering(gatewayPorts);
        client.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (clusterId, clusterId));
        client.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = ("Npgsql", connection));
        return client;
    }
}
