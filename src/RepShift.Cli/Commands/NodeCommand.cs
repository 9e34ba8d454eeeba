using System.CommandLine;
using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RepShift.Cluster.Orleans;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift node</c>: an Orleans silo hosting this machine's embedding engine for clustered jobs and serve --cluster.</summary>
internal static class NodeCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var cluster = ClusterOption.Create("Membership", ClusterAddress.Localhost);
        var port = new Option<int>("--port") { Description = "This node's silo port (each node on a machine needs its own)", DefaultValueFactory = _ => 11111 }.Range(1, 65535);
        var gatewayPort = new Option<int>("--gateway-port") { Description = "This node's gateway port, where jobs and servers connect", DefaultValueFactory = _ => 30000 }.Range(1, 65535);
        var primaryPort = new Option<int>("--primary-port") { Description = "The silo port of the first node (localhost clustering)", DefaultValueFactory = _ => 11111 }.Range(1, 65535);
        var advertise = new Option<string?>("--advertise")
        {
            Description = "With PostgreSQL: the IP address other machines reach this node at (default: this machine's first non-loopback address)",
        };
        advertise.Validators.Add(v =>
        {
            if (v.Tokens.Count > 0 && !IPAddress.TryParse(v.Tokens[0].Value, out _)) v.AddError($"--advertise '{v.Tokens[0].Value}' is not an IP address");
        });
        var command = new Command("node", """
            Run a worker node: an Orleans silo with one embedding engine (model, plan, threads as given) that embeds
            the shards `job embed --cluster` hands it and the texts `serve --cluster` forwards. Every node of a
            cluster must run the same model and plan: a node with another refuses the work with an error naming the
            difference. With --cluster localhost the nodes are on this machine and join through the first one's
            port; with a PostgreSQL database they join through its membership table (created when missing), from
            any machine. Runs until Ctrl+C/SIGTERM.
            Examples (two nodes on one machine, then a job):
              repshift node --threads 1 &
              repshift node --threads 1 --port 11112 --gateway-port 30001 &
              repshift job embed --input docs --output vectors --cluster localhost --gateways 30000,30001
            On several machines (each node: the same command, its own address):
              repshift node --cluster 'Host=db;Username=repshift;Password=repshift;Database=repshift' --advertise 10.0.0.5
              repshift serve --cluster 'Host=db;Username=repshift;Password=repshift;Database=repshift'
            """);
        foreach (var o in new Option[] { cluster, port, gatewayPort, primaryPort, advertise }) command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(async (r, cancellation) =>
        {
            var address = ClusterOption.Get(r, cluster)!;
            var ip = r.GetValue(advertise) is { } a ? IPAddress.Parse(a) : null;
            var embedder = common.CreateEmbedder(r);
            await ClusterHosting.PrepareAsync(address, cancellation);
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.UseOrleans(silo =>
            {
                silo.UseRepShiftCluster(address, r.GetValue(port), r.GetValue(gatewayPort), r.GetValue(primaryPort), ip);
                silo.AddEmbeddingNode(() => embedder);
            });
            using var host = builder.Build();
            await host.StartAsync(cancellation);
            Console.Error.WriteLine($"node up: {address.Display}, silo port {r.GetValue(port)}, gateway port {r.GetValue(gatewayPort)}, model {embedder.ModelName}, {embedder.Compute.Threads} thread(s)");
            await host.WaitForShutdownAsync(cancellation);
            return 0;
        });
        return command;
    }
}
