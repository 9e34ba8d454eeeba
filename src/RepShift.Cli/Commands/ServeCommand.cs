using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RepShift.Cli.Serve;

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
        var int8Ranges = new Option<string[]>("--int8-ranges")
        {
            Description = "int8 ranges files (from 'repshift calibrate-encoding'; repeat for several dimension counts) that encoding_format int8 uses",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("serve", """
            Serve embeddings over HTTP, OpenAI-compatible: POST /v1/embeddings with {"input": "text" or ["a", "b"]},
            optional "model" (must be this server's model), "dimensions" (1 to the model's: the leading ones,
            renormalised), "encoding_format" (float; base64: little-endian float32; int8: levels -128..127, needs
            --int8-ranges for the model and dimensions; binary: sign bits packed most significant bit first, as
            bytes 0..255), "repshift_preset" (none, balanced, fast; default: the server's --preset). GET /health, GET /v1/models.
            Concurrent requests are gathered into encoder batches of up to --batch texts (--no-batching: one per request).
            Errors are OpenAI-shaped JSON: {"error": {"message", "type", "param", "code"}}.
            Ctrl+C or SIGTERM stops taking requests (503), runs those queued for up to --shutdown-timeout seconds
            and answers the rest 503.
            Example: repshift serve --port 8080 --preset balanced
                     curl -s localhost:8080/v1/embeddings -H 'Content-Type: application/json' -d '{"input":"hello"}'
            """);
        command.Options.Add(host);
        command.Options.Add(port);
        command.Options.Add(shutdownTimeout);
        command.Options.Add(int8Ranges);
        server.AddTo(command);
        common.AddTo(command);
        command.SetAction(r =>
        {
            int p = r.GetValue(port);
            if (p is < 0 or > 65535) throw new RepShiftException($"--port {p} is out of range: use 0 to 65535");
            double drain = r.GetValue(shutdownTimeout);
            if (!(drain is >= 0 and <= 3600)) throw new RepShiftException($"--shutdown-timeout {drain} is out of range: use 0 to 3600 seconds");
            var ranges = (r.GetValue(int8Ranges) ?? []).Select(Embeddings.Int8Ranges.Load).ToList();
            var options = server.Get(r, common) with { ShutdownTimeout = TimeSpan.FromSeconds(drain), Int8Ranges = ranges };
            var embedder = common.CreateEmbedder(r);
            // A ranges file for another model is a mistake found now, not at the first int8 request.
            foreach (var x in ranges) x.CheckFor(embedder.ModelName, x.Dimension, $"--int8-ranges for {x.Model} at {x.Dimension} dimensions");
            string url = $"http://{Authority(r.GetValue(host)!, p)}";
            var app = EmbeddingServer.Create(embedder, options, b =>
            {
                b.WebHost.UseUrls(url);
                // The host would log a failed bind with its stack trace; the catch below says it in one line.
                b.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
            });
            app.Lifetime.ApplicationStarted.Register(() => Console.Error.WriteLine(
                $"serving {embedder.ModelName} on {string.Join(", ", app.Urls)} ({(options.Batching ? $"micro-batching up to {options.MaxBatchTexts} texts, {options.MaxDelay.TotalMilliseconds} ms" : "one batch per request")}); Ctrl+C stops"));
            app.Lifetime.ApplicationStopping.Register(() => Console.Error.WriteLine(
                $"stopping: new requests get 503; running those queued for up to {drain} s, then answering the rest 503"));
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
            return 0;
        });
        return command;
    }

    /// <summary>host:port with IPv6 literals bracketed.</summary>
    internal static string Authority(string host, int port) => host.Contains(':') && !host.StartsWith('[') ? $"[{host}]:{port}" : $"{host}:{port}";
}
