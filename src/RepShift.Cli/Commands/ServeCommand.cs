using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RepShift.Cli.Serve;
using RepShift.Cluster.Orleans;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift serve</c>: an OpenAI-compatible embeddings endpoint with micro-batching.</summary>
internal static class ServeCommand
{
    /// <summary>Options of the server itself, shared with <c>bench serve</c>.</summary>
    internal sealed class ServerOptions
    {
        public readonly Option<bool> NoBatching = new("--no-batching") { Description = "Run one encoder batch per request instead of gathering concurrent requests" };
        public readonly Option<double> MaxDelay = new Option<double>("--max-delay-ms") { Description = "How long the oldest waiting request may wait for others to join its batch", DefaultValueFactory = _ => 2 }.Range(0, 60_000);
        public readonly Option<int> Queue = new("--queue") { Description = "Requests that may wait for the encoder; more are answered 503", DefaultValueFactory = _ => new ServeOptions().QueueCapacity };
        public readonly Option<int> MaxInputs = new("--max-inputs") { Description = "Texts per request (more: 413)", DefaultValueFactory = _ => new ServeOptions().MaxInputs };
        public readonly Option<int> MaxChars = new("--max-chars") { Description = "Characters per text (more: 413); texts are also truncated to --max-tokens", DefaultValueFactory = _ => new ServeOptions().MaxCharacters };

        /// <summary>Adds the options; <c>bench serve</c> measures both batching modes, so it leaves out --no-batching.</summary>
        public void AddTo(Command command, bool batchingSwitch = true)
        {
            if (batchingSwitch) command.Options.Add(NoBatching);
            foreach (var o in new Option[] { MaxDelay, Queue, MaxInputs, MaxChars }) command.Options.Add(o);
        }

        /// <summary>The server's options; --batch caps a micro-batch (default 32 texts: a request waits for at most that many others).</summary>
        public ServeOptions Get(ParseResult r, CommonOptions common) => new()
        {
            Batching = !r.GetValue(NoBatching),
            MaxDelay = TimeSpan.FromMilliseconds(r.GetValue(MaxDelay)),
            MaxBatchTexts = r.GetResult(common.Batch) is { Implicit: false } ? r.GetValue(common.Batch) : new ServeOptions().MaxBatchTexts,
            QueueCapacity = r.GetValue(Queue),
            MaxInputs = r.GetValue(MaxInputs),
            MaxCharacters = r.GetValue(MaxChars),
        };
    }

    public static Command Create()
    {
        var common = new CommonOptions();
        var server = new ServerOptions();
        var host = new Option<string>("--host") { Description = "Address to listen on (0.0.0.0 for every interface)", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "TCP port", DefaultValueFactory = _ => 8080 };
        var shutdownTimeout = new Option<double>("--shutdown-timeout")
        {
            Description = "Seconds that queued requests may still run after Ctrl+C or SIGTERM; those left are answered 503",
            DefaultValueFactory = _ => new ServeOptions().ShutdownTimeout.TotalSeconds,
        };
        var models = new Option<string[]>("--model")
        {
            Description = "Model to serve: 'all-MiniLM-L6-v2' (embedded, default), a Hugging Face model folder, or an .onnx file with vocab.txt "
                + "beside it; repeat to serve several from one process (one engine each, one shared worker pool of --threads): a request's 'model' picks one",
            AllowMultipleArgumentsPerToken = false,
        };
        var apiKey = new Option<string?>("--api-key")
        {
            Description = $"Require 'Authorization: Bearer KEY' on every request but /health/* and /metrics (401 invalid_api_key without it); "
                + $"default: the {ApiKey.EnvironmentVariable} environment variable, which keeps the key out of the process list",
        };
        var metricsAuth = new Option<bool>("--metrics-auth") { Description = "With an API key, /metrics needs the key too (by default it stays open, like /health/*)" };
        var int8Ranges = new Option<string[]>("--int8-ranges")
        {
            Description = "int8 ranges files (from 'repshift calibrate-encoding'; repeat for several dimension counts) that encoding_format int8 uses",
            AllowMultipleArgumentsPerToken = false,
        };
        var binaryProjections = new Option<string[]>("--binary-projection")
        {
            Description = "Binary projections (from 'repshift calibrate-encoding --encoding binary'; repeat for several models or dimension counts): "
                + "encoding_format binary for the model and dimensions one was calibrated for gives its bits (input_type query: with its query thresholds, "
                + "if it was calibrated with --queries), any other plain sign bits",
            AllowMultipleArgumentsPerToken = false,
        };
        var cluster = ClusterOption.Create("Forward every request's texts to the embedding nodes of a cluster (`repshift node`) instead of a local engine");
        var gateways = new Option<string>("--gateways") { Description = "With --cluster localhost: the nodes' gateway ports, comma-separated", DefaultValueFactory = _ => "30000" };
        gateways.Validators.Add(v =>
        {
            if (!v.Implicit && v.Tokens.Count > 0 && OptionChecks.ParseIntList(gateways.Name, v.Tokens[0].Value, 1, 65535, out _) is { } error) v.AddError(error);
        });
        var clusterTimeout = new Option<double>("--cluster-timeout")
        {
            Description = "With --cluster: seconds a batch may wait for a node (retries on other nodes included) before it is answered 503 cluster_unavailable",
            DefaultValueFactory = _ => 30,
        }.Range(0.1, 3600);
        var command = new Command("serve", $$$"""
            Serve embeddings over HTTP, OpenAI-compatible: POST /v1/embeddings with {"input": "text" or ["a", "b"]},
            "model" (one of the served models; may be left out when only one is served), "dimensions" (1 to the model's: the
            leading ones, renormalised), "encoding_format" (float; base64: little-endian float32; int8: levels -128..127,
            needs --int8-ranges for the model and dimensions; binary: sign bits packed most significant bit first, as
            bytes 0..255, through the --binary-projection for the model and dimensions if there is one), "repshift_preset" (none, balanced, fast; default: the server's --preset).
            GET /v1/models lists the served models.
            Operations: GET /health/live (200 while the process runs), GET /health/ready (200 once every model is loaded
            and has embedded a probe text; 503 while loading and from the start of shutdown), GET /metrics (Prometheus:
            requests by model and status code, texts, tokens, batch sizes, queue depth, latency), GET /health (a summary).
            --api-key (or {{{ApiKey.EnvironmentVariable}}}) makes every other request need 'Authorization: Bearer KEY'.
            The server listens first, then loads its models (a model that fails to load stops it, exit 2).
            Concurrent requests for one model are gathered into encoder batches of up to --batch texts (--no-batching: one per request).
            Errors are OpenAI-shaped JSON: {"error": {"message", "type", "param", "code"}}.
            Ctrl+C or SIGTERM: readiness turns 503, the listener closes, requests already received run for up to
            --shutdown-timeout seconds (the rest are answered 503), then the process exits.
            --cluster localhost|CONNECTION-STRING: an HTTP front end for a cluster. The texts go to the nodes' worker
            grains (a batch split over the nodes; a failed node's part is sent to another) instead of a local engine;
            the model named by --model (one) is still loaded here for its tokenizer and signature, and every node must
            run the same model and plan. /health/ready is 200 only once the cluster answered the probe; while no node
            answers, requests get 503 cluster_unavailable (after --cluster-timeout).
            Example: repshift serve --port 8080 --preset balanced
                     repshift serve --cluster 'Host=localhost;Username=repshift;Password=repshift;Database=repshift' --port 8080
                     repshift serve --model all-MiniLM-L6-v2 --model ./my-bert-folder --api-key "$KEY"
                     curl -s localhost:8080/v1/embeddings -H 'Content-Type: application/json' -d '{"input":"hello"}'
            """);
        command.Options.Add(host);
        command.Options.Add(port);
        command.Options.Add(shutdownTimeout);
        command.Options.Add(apiKey);
        command.Options.Add(metricsAuth);
        command.Options.Add(int8Ranges);
        command.Options.Add(binaryProjections);
        command.Options.Add(cluster);
        command.Options.Add(gateways);
        command.Options.Add(clusterTimeout);
        server.AddTo(command);
        common.AddTo(command);
        // serve takes --model several times: its own option replaces the single one every other command has.
        command.Options.Remove(common.Model);
        command.Options.Insert(0, models);
        command.SetAction(r =>
        {
            int p = r.GetValue(port);
            if (p is < 0 or > 65535) throw new RepShiftException($"--port {p} is out of range: use 0 to 65535");
            double drain = r.GetValue(shutdownTimeout);
            if (!(drain is >= 0 and <= 3600)) throw new RepShiftException($"--shutdown-timeout {drain} is out of range: use 0 to 3600 seconds");
            string[] names = r.GetValue(models) is { Length: > 0 } given ? given : [Loading.ModelLoader.DefaultModelName];
            string? key = r.GetValue(apiKey) ?? (Environment.GetEnvironmentVariable(ApiKey.EnvironmentVariable) is { Length: > 0 } env ? env : null);
            var ranges = (r.GetValue(int8Ranges) ?? []).Select(Embeddings.Int8Ranges.Load).ToList();
            var projections = (r.GetValue(binaryProjections) ?? []).Select(Embeddings.BinaryProjection.Load).ToList();
            var options = server.Get(r, common) with
            {
                ShutdownTimeout = TimeSpan.FromSeconds(drain),
                ApiKey = key,
                MetricsAuth = r.GetValue(metricsAuth),
                Int8Ranges = ranges,
                BinaryProjections = projections,
            };
            options.Validate();
            // Every flag is checked before the port is taken; the models load once it is.
            _ = common.EmbedderOptions(r);
            var compute = names.Length > 1 ? common.CreateCompute(r) : null;
            var sources = names.Select(n => new ModelRegistry.Source(n, () => common.CreateEmbedder(r, n, compute))).ToList();
            string hostName = r.GetValue(host)!;
            // Checked before the models load: Kestrel would only find a bad address when it binds.
            if (Uri.CheckHostName(hostName.StartsWith('[') && hostName.EndsWith(']') ? hostName[1..^1] : hostName) == UriHostNameType.Unknown)
                throw new RepShiftException($"--host '{hostName}' is not a host name or IP address: use e.g. 127.0.0.1, 0.0.0.0, ::1 or localhost");
            string url = $"http://{Authority(hostName, p)}";
            var address = ClusterOption.Get(r, cluster);
            if (address is not null && names.Length > 1)
                throw new RepShiftException("--cluster serves one model, the one its nodes run: give --model once");
            OptionChecks.ParseIntList(gateways.Name, r.GetValue(gateways)!, 1, 65535, out int[] ports);
            if (address is not null) ClusterHosting.PrepareAsync(address).GetAwaiter().GetResult();
            // Disposed after the server, whose last requests may still be forwarded.
            using var backendLifetime = new AsyncLifetime(address is null ? null : ClusterBackend.Start(address, ports, TimeSpan.FromSeconds(r.GetValue(clusterTimeout))));
            var backend = (ClusterBackend?)backendLifetime.Value;
            var app = EmbeddingServer.Create(sources, options, b =>
            {
                b.WebHost.UseUrls(url);
                // The host would log a failed bind with its stack trace; the catch below says it in one line.
                b.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
            }, embed: backend is null ? null : backend.EmbedFunction, shared: compute, remote: backend is not null);
            var registry = app.Services.GetRequiredService<ModelRegistry>();
            var metrics = app.Services.GetRequiredService<ServeMetrics>();
            long stoppingAt = 0;
            app.Lifetime.ApplicationStarted.Register(() => Console.Error.WriteLine(
                $"listening on {string.Join(", ", app.Urls)}; loading {string.Join(", ", names)} (GET /health/ready answers 200 once ready)"));
            registry.OnWaiting = why => Console.Error.WriteLine($"waiting for the cluster ({address?.Display}): {why}");
            registry.OnReady = () => Console.Error.WriteLine(
                $"serving {string.Join(", ", registry.Loaded.Select(m => m.Name))} on {string.Join(", ", app.Urls)} "
                + $"({(options.Batching ? $"micro-batching up to {options.MaxBatchTexts} texts, {options.MaxDelay.TotalMilliseconds} ms" : "one batch per request")}"
                + $"{(names.Length > 1 ? $", {names.Length} models on one pool of {compute!.Threads} threads" : "")}"
                + $"{(address is null ? "" : $", forwarded to the nodes of {address.Display}")}; "
                + $"{(key is null ? "no API key" : "API key required")}); Ctrl+C stops");
            app.Lifetime.ApplicationStopping.Register(() =>
            {
                stoppingAt = System.Diagnostics.Stopwatch.GetTimestamp();
                if (registry.State != ServerState.Failed)
                    Console.Error.WriteLine($"stopping: not ready, listener closed; running the requests received for up to {drain} s, then answering the rest 503");
            });
            try
            {
                app.StartAsync().GetAwaiter().GetResult();
            }
            catch (IOException e)
            {
                // Kestrel's bind failure (port in use, address not available): the user's to fix, one line.
                app.DisposeAsync().AsTask().GetAwaiter().GetResult();
                throw new RepShiftException($"cannot listen on {url}: {(e.InnerException ?? e).Message}; is another server on it? Pick another --port or --host");
            }
            app.WaitForShutdownAsync().GetAwaiter().GetResult();
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
            if (registry.LoadError is { } error) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
            var (received, answered) = metrics.Counts;
            Console.Error.WriteLine($"stopped {(stoppingAt == 0 ? "" : $"{System.Diagnostics.Stopwatch.GetElapsedTime(stoppingAt).TotalSeconds:F2} s after the signal")}: "
                + $"{answered} of {received} embeddings requests received were answered");
            return 0;
        });
        return command;
    }

    /// <summary>Disposes an async-disposable (or nothing) synchronously at the end of a synchronous action.</summary>
    private sealed class AsyncLifetime(IAsyncDisposable? value) : IDisposable
    {
        public IAsyncDisposable? Value { get; } = value;

        public void Dispose() => Value?.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>host:port with IPv6 literals bracketed.</summary>
    internal static string Authority(string host, int port) => host.Contains(':') && !host.StartsWith('[') ? $"[{host}]:{port}" : $"{host}:{port}";
}
