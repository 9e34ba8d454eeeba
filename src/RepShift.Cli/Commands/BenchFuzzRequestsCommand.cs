using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using CsCheck;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using RepShift.Cli.Serve;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift bench fuzz-requests</c>: the request fuzzer against the real server (Kestrel on loopback, the real model).</summary>
internal static class BenchFuzzRequestsCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var cases = new Option<int>("--cases") { Description = "Requests to generate and send", DefaultValueFactory = _ => 10_000 };
        var seed = new Option<ulong?>("--seed") { Description = "Seed of the run (default: random, printed); case i is generated from the seed and i" };
        var clients = new Option<int>("--clients") { Description = "Concurrent clients", DefaultValueFactory = _ => 4 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object on stdout" };
        var command = new Command("fuzz-requests", """
            Fuzz 'repshift serve' in-process on loopback (Kestrel on a free port, the real model): random and mutated
            JSON bodies (wrong types, lone surrogate escapes, invalid UTF-8, UTF-16 and Latin-1 bodies, deep nesting,
            byte flips and cuts), methods, paths, Content-Types and headers. Every answer must be below 500 and, but for
            HEAD, JSON (an OpenAI-shaped error for 4xx). Reports the statuses seen and each failing case with the CsCheck
            seed that regenerates it; exit 1 when any case failed.
            Example: repshift bench fuzz-requests --cases 100000 --seed 1 --json
            """);
        foreach (var o in new Option[] { cases, seed, clients, json }) command.Options.Add(o);
        common.AddTo(command, compression: false);
        command.SetAction(r =>
        {
            int n = r.GetValue(cases), concurrency = r.GetValue(clients);
            if (n < 1) throw new RepShiftException($"--cases {n} is out of range: use 1 or more");
            if (concurrency is < 1 or > 256) throw new RepShiftException($"--clients {concurrency} is out of range: use 1 to 256");
            ulong runSeed = r.GetValue(seed) ?? (ulong)Random.Shared.NextInt64();
            var embedder = common.CreateEmbedder(r);
            Console.Error.WriteLine($"fuzzing {n} requests against {embedder.ModelName}, seed {runSeed}, {concurrency} clients...");
            var result = RunAsync(embedder, n, runSeed, concurrency).GetAwaiter().GetResult();
            Console.Error.WriteLine($"{result.Cases} cases in {result.Seconds:F1} s ({result.Cases / result.Seconds:F0}/s), {result.Failures.Count} failed; statuses: "
                + string.Join(", ", result.Statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}")));
            foreach (var f in result.Failures.Take(10)) Console.Error.WriteLine($"FAILED case {f.Case} (CsCheck seed {f.Seed}): {f.Message}\n  {f.Request}");
            if (r.GetValue(json))
                Cli.WriteJson(new
                {
                    model = embedder.ModelName,
                    cases = result.Cases,
                    seed = runSeed,
                    clients = concurrency,
                    seconds = result.Seconds,
                    failures = result.Failures.Count,
                    server_errors = result.Statuses.Where(s => s.Key >= 500).Sum(s => s.Value),
                    statuses = result.Statuses.OrderBy(s => s.Key).ToDictionary(s => s.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), s => s.Value),
                    failed = result.Failures.Take(10).Select(f => new { @case = f.Case, seed = f.Seed, message = f.Message, request = f.Request }),
                });
            return result.Failures.IsEmpty ? 0 : 1;
        });
        return command;
    }

    private sealed record Failure(long Case, string Seed, string Message, string Request);

    private sealed record FuzzRun(long Cases, double Seconds, ConcurrentDictionary<int, long> Statuses, ConcurrentBag<Failure> Failures);

    private static async Task<FuzzRun> RunAsync(TextEmbedder embedder, int cases, ulong seed, int concurrency)
    {
        var app = EmbeddingServer.Create(embedder, new ServeOptions(), b =>
        {
            b.Logging.ClearProviders();
            b.WebHost.UseUrls("http://127.0.0.1:0");
        });
        await app.StartAsync();
        try
        {
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, UseProxy = false })
            {
                BaseAddress = new Uri(app.Urls.First()),
                Timeout = TimeSpan.FromMinutes(2),
            };
            var gen = RequestFuzzer.Requests(embedder.ModelName, embedder.Dimension);
            var statuses = new ConcurrentDictionary<int, long>();
            var failures = new ConcurrentBag<Failure>();
            long next = -1, done = 0;
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
            {
                long i;
                while ((i = Interlocked.Increment(ref next)) < cases)
                {
                    // Each case from its own generator state, so a failing one is reproducible alone.
                    var pcg = new PCG((uint)(i & 0x7fff_ffff), seed + (ulong)i);
                    string caseSeed = pcg.ToString();
                    var request = gen.Generate(pcg, null, out Size _);
                    try
                    {
                        var response = await RequestFuzzer.SendAsync(http, request);
                        statuses.AddOrUpdate(response.Status, 1, (_, c) => c + 1);
                        RequestFuzzer.Check(request, response);
                    }
                    catch (Exception e) when (e is InvalidOperationException or HttpRequestException or TaskCanceledException)
                    {
                        failures.Add(new Failure(i, caseSeed, e.Message, request.ToString()));
                    }
                    long d = Interlocked.Increment(ref done);
                    if (d % 10_000 == 0) Console.Error.WriteLine($"  {d} cases, {clock.Elapsed.TotalSeconds:F0} s, {failures.Count} failed");
                }
            })));
            return new FuzzRun(Math.Min(cases, done), clock.Elapsed.TotalSeconds, statuses, failures);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
