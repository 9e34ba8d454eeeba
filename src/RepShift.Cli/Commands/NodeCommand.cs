using System.CommandLine;
using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RepShift.Cluster.Orleans;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift node</c>: an Orleans silo hosting this machine's embedding engine for clustered jobs.</summary>
internal static class NodeCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var cluster = new Option<string>("--cluster") { Description = "Membership: 'localhost' (nodes on this machine, the first on --primary-port)", DefaultValueFactory = _ => "localhost" };
        var port = new Option<int>("--port") { Description = "This node's silo port (each node on a machine needs its own)", DefaultValueFactory = _ => 11111 }.Range(1, 65535);
        var gatewayPort = new Option<int>("--gateway-port") { Description = "This node's gateway port, where jobs connect", DefaultValueFactory = _ => 30000 }.Range(1, 65535);
        var primaryPort = new Option<int>("--primary-port") { Description = "The silo port of the first node (localhost clustering)", DefaultValueFactory = _ => 11111 }.Range(1, 65535);
        var command = new Command("node", """
            Run a worker node: an Orleans silo with one embedding engine (model, plan, threads as given) that embeds
            the shards `job embed --cluster` hands it. Every node of a job must run the same model and plan: a node
            with another refuses the job's shards with an error naming the difference. Runs until Ctrl+C/SIGTERM.
            Example (two nodes on one machine, then a job):
              repshift node --threads 1 &
              repshift node --threads 1 --port 11112 --gateway-port 30001 &
              repshift job embed --input docs --output vectors --cluster localhost --gateways 30000,30001
            """);
        foreach (var o in new Option[] { cluster, port, gatewayPort, primaryPort }) command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(async (r, cancellation) =>
        {
            if (r.GetValue(cluster) != "localhost") throw new RepShiftException($"--cluster {r.GetValue(cluster)}: only 'localhost' clustering is built so far (PostgreSQL membership is not yet)");
            var embedder = common.CreateEmbedder(r);
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.UseOrleans(silo =>
            {
                silo.UseLocalhostClustering(r.GetValue(port), r.GetValue(gatewayPort), new IPEndPoint(IPAddress.Loopback, r.GetValue(primaryPort)));
                silo.AddEmbeddingNode(() => embedder);
            });
            using var host = builder.Build();
            await host.StartAsync(cancellation);
            Console.Error.WriteLine($"node up: silo port {r.GetValue(port)}, gateway port {r.GetValue(gatewayPort)}, model {embedder.ModelName}, {embedder.Compute.Threads} thread(s)");
            await host.WaitForShutdownAsync(cancellation);
            return 0;
        });
        return command;
    }
}
