using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using RepShift.Cli.Serve;

namespace RepShift.Cli.Benchmarks;

/// <summary>One server configuration under load: what the clients saw.</summary>
internal sealed record ServeLoadResult(string Preset, bool Batching, int Requests, int Errors, double Seconds, double[] LatenciesMs, double MeanBatchTexts)
{
    public double RequestsPerSecond => Requests / Seconds;

    /// <summary>Windows of one configuration (rounds) as one result: counts and seconds add, latencies pool.</summary>
    public static ServeLoadResult Merge(IReadOnlyList<ServeLoadResult> windows)
    {
        int requests = windows.Sum(w => w.Requests);
        return new ServeLoadResult(windows[0].Preset, windows[0].Batching, requests, windows.Sum(w => w.Errors), windows.Sum(w => w.Seconds),
            [.. windows.SelectMany(w => w.LatenciesMs).Order()], requests == 0 ? 0 : windows.Sum(w => w.MeanBatchTexts * w.Requests) / requests);
    }

    public double Percentile(double p)
    {
        if (LatenciesMs.Length == 0) return double.NaN;
        // Nearest rank on the sorted latencies.
        int rank = (int)Math.Ceiling(p / 100 * LatenciesMs.Length);
        return LatenciesMs[Math.Clamp(rank - 1, 0, LatenciesMs.Length - 1)];
    }
}

/// <summary>
/// Starts <see cref="EmbeddingServer"/> on loopback (Kestrel, a free port) and drives it with closed-loop
/// clients: each sends one sentence, waits for the answer, sends the next. Requests that finish during the
/// warm-up are not counted; the measured window follows it. A request that fails (an HTTP error or a broken
/// connection) counts as an error. <paramref name="memory"/>, when given, samples resident memory through the
/// measured window.
/// </summary>
internal static class ServeLoad
{
    public static async Task<ServeLoadResult> RunAsync(TextEmbedder embedder, ServeOptions options, string preset, IReadOnlyList<string> sentences,
        int clients, TimeSpan warmup, TimeSpan measured, ResidentMemorySampler? memory = null)
    {
        var app = EmbeddingServer.Create(embedder, options, b =>
        {
            b.Logging.ClearProviders();
            b.WebHost.UseUrls("http://127.0.0.1:0");
        });
        await app.StartAsync();
        try
        {
            var url = new Uri(new Uri(app.Urls.First()), "/v1/embeddings");
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = clients, UseProxy = false }) { Timeout = TimeSpan.FromMinutes(2) };
            int next = -1;
            long start = Stopwatch.GetTimestamp();
            long measureFrom = start + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
            long measureTo = measureFrom + (long)(measured.TotalSeconds * Stopwatch.Frequency);
            using var stopSampling = new CancellationTokenSource();
            var sampling = memory is null ? Task.CompletedTask : Task.Run(async () =>
            {
                await Task.Delay(warmup);
                await memory.RunAsync(stopSampling.Token);
            });
            var perClient = await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
            {
                var latencies = new List<double>();
                int errors = 0;
                long batchTexts = 0;
                while (true)
                {
                    long sent = Stopwatch.GetTimestamp();
                    if (sent >= measureTo) break;
                    string text = sentences[(int)((uint)Interlocked.Increment(ref next) % (uint)sentences.Count)];
                    using var content = new StringContent(JsonSerializer.Serialize(new { input = text, model = embedder.ModelName }), Encoding.UTF8, "application/json");
                    HttpResponseMessage response;
                    byte[] body;
                    try
                    {
                        response = await http.PostAsync(url, content);
                        body = await response.Content.ReadAsByteArrayAsync();
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        long failed = Stopwatch.GetTimestamp();
                        if (failed >= measureFrom && failed <= measureTo) errors++;
                        continue;
                    }
                    using var _ = response;
                    long done = Stopwatch.GetTimestamp();
                    if (done < measureFrom || done > measureTo) continue;
                    if (response.StatusCode != HttpStatusCode.OK || body.Length == 0)
                    {
                        errors++;
                        continue;
                    }
                    latencies.Add((done - sent) * 1000.0 / Stopwatch.Frequency);
                    if (response.Headers.TryGetValues(EmbeddingServer.BatchHeader, out var values))
                        batchTexts += int.Parse(values.First(), CultureInfo.InvariantCulture);
                }
                return (latencies, errors, batchTexts);
            })));
            stopSampling.Cancel();
            await sampling;
            var all = perClient.SelectMany(c => c.latencies).Order().ToArray();
            long batchSum = perClient.Sum(c => c.batchTexts);
            return new ServeLoadResult(preset, options.Batching, all.Length, perClient.Sum(c => c.errors), measured.TotalSeconds, all,
                all.Length == 0 ? 0 : (double)batchSum / all.Length);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
