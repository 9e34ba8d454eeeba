using System.Diagnostics;

namespace RepShift.Cli.Benchmarks;

/// <summary>One engine's time on one workload.</summary>
internal sealed record EngineTiming(string Engine, double Seconds, double ItemsPerSecond, double TokensPerSecond);

/// <summary>
/// Times several engines on the same pre-tokenized batches in one run. The batches are split into
/// rounds; in each round every engine embeds the round's batches, and the order of engines rotates
/// from round to round, so drifts in machine load fall on all engines alike. Tokenization is done once,
/// outside the timing: all engines use the same tokenizer, so it is not what is compared.
/// </summary>
internal static class ThroughputBenchmark
{
    public static IReadOnlyList<EngineTiming> Run(IReadOnlyList<IEngine> engines, IReadOnlyList<int[]> ids, int batchSize, int rounds, IProgress<int>? progress = null)
    {
        var batches = ids.Chunk(batchSize).Select(b => b.ToList()).ToList();
        long tokens = ids.Sum(x => (long)x.Length);
        foreach (var e in engines) e.Embed(batches[0]); // warm-up: JIT, workspaces, ONNX Runtime arenas

        var seconds = new double[engines.Count];
        rounds = Math.Clamp(rounds, 1, batches.Count);
        int done = 0;
        for (int round = 0; round < rounds; round++)
        {
            int from = round * batches.Count / rounds, to = (round + 1) * batches.Count / rounds;
            for (int j = 0; j < engines.Count; j++)
            {
                int e = (j + round) % engines.Count;
                long start = Stopwatch.GetTimestamp();
                engines[e].EmbedRound(batches.GetRange(from, to - from));
                seconds[e] += Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
            done += batches.Skip(from).Take(to - from).Sum(b => b.Count);
            progress?.Report(done);
        }
        return [.. engines.Select((e, i) => new EngineTiming(e.Name, seconds[i], ids.Count / seconds[i], tokens / seconds[i]))];
    }

    /// <summary>The texts of each round, as <see cref="Run"/> splits them (whole batches per round).</summary>
    public static IEnumerable<int[][]> Rounds(IReadOnlyList<int[]> ids, int batchSize, int rounds)
    {
        var batches = ids.Chunk(batchSize).ToList();
        rounds = Math.Clamp(rounds, 1, batches.Count);
        for (int round = 0; round < rounds; round++)
        {
            int from = round * batches.Count / rounds, to = (round + 1) * batches.Count / rounds;
            yield return [.. batches.Skip(from).Take(to - from).SelectMany(b => b)];
        }
    }
}
