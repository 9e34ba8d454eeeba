using RepShift.Cli.Serve;
using RepShift.Compression;

namespace RepShift.Tests;

/// <summary>The serve command's micro-batcher without HTTP: what runs together, and what does not.</summary>
public class MicroBatcherTests
{
    private static readonly Lazy<TextEmbedder> Embedder = new(() => TextEmbedder.Load());

    /// <summary>Records each encoder call's size; the first call waits until <see cref="Open"/>.</summary>
    private sealed class Recorder
    {
        private readonly ManualResetEventSlim _open = new();
        private readonly ManualResetEventSlim _entered = new();
        public readonly List<(int Texts, CompressionPlan Plan)> Calls = [];

        public EmbeddingResult Embed(IReadOnlyList<string> texts, CompressionPlan plan, string? prompt = null, CancellationToken cancellation = default)
        {
            _entered.Set();
            _open.Wait(TimeSpan.FromSeconds(60));
            lock (Calls) Calls.Add((texts.Count, plan));
            return Embedder.Value.Embed(texts, plan: plan, prompt: prompt);
        }

        public void WaitUntilEntered() => Assert.True(_entered.Wait(TimeSpan.FromSeconds(60)));

        public void Open() => _open.Set();
    }

    private static async Task<(BatchedEmbeddings[] Results, Recorder Recorder)> RunHeldAsync(ServeOptions options, (string Text, string Key)[] jobs)
    {
        var recorder = new Recorder();
        await using var batcher = new MicroBatcher(recorder.Embed, options);
        var first = batcher.TryEmbed(["held first"], "", CompressionPlan.None)!;
        recorder.WaitUntilEntered();
        var rest = jobs.Select(j => batcher.TryEmbed([j.Text], j.Key, j.Key == "" ? CompressionPlan.None : Presets.Get(j.Key))!).ToArray();
        recorder.Open();
        await first;
        return (await Task.WhenAll(rest), recorder);
    }

    [Fact]
    public async Task RequestsWaitingTogetherRunAsOneBatchWithTheirOwnVectors()
    {
        var jobs = Enumerable.Range(0, 5).Select(i => ($"text number {i}", "")).ToArray();
        var (results, recorder) = await RunHeldAsync(new ServeOptions(), jobs);
        Assert.Equal([1, 5], recorder.Calls.Select(c => c.Texts));
        for (int i = 0; i < jobs.Length; i++)
        {
            Assert.Equal(5, results[i].BatchTexts);
            Assert.Equal(Embedder.Value.Embed(jobs[i].Item1), Assert.Single(results[i].Vectors));
        }
    }

    [Fact]
    public async Task BatchesHoldOnePlanAndAtMostMaxBatchTexts()
    {
        (string, string)[] jobs = [("a", ""), ("b", "balanced"), ("c", ""), ("d", ""), ("e", "balanced")];
        var (_, recorder) = await RunHeldAsync(new ServeOptions { MaxBatchTexts = 2 }, jobs);
        // Oldest first: a+c (dense, full at 2), then b+e (balanced), then d.
        Assert.Equal([1, 2, 2, 1], recorder.Calls.Select(c => c.Texts));
        Assert.True(recorder.Calls[1].Plan.IsDense && !recorder.Calls[2].Plan.IsDense && recorder.Calls[3].Plan.IsDense);
    }

    [Fact]
    public async Task WithoutBatchingEachRequestRunsAlone()
    {
        var jobs = Enumerable.Range(0, 4).Select(i => ($"text {i}", "")).ToArray();
        var (results, recorder) = await RunHeldAsync(new ServeOptions { Batching = false }, jobs);
        Assert.All(recorder.Calls, c => Assert.Equal(1, c.Texts));
        Assert.All(results, r => Assert.Equal(1, r.BatchTexts));
    }

    [Fact]
    public async Task OneFailingRequestDoesNotFailItsBatch()
    {
        var recorder = new Recorder();
        MicroBatcher.EmbedFunction embed = (texts, plan, _, _) => texts.Contains("bad") ? throw new RepShiftException("bad text") : recorder.Embed(texts, plan);
        await using var batcher = new MicroBatcher(embed, new ServeOptions());
        var first = batcher.TryEmbed(["held"], "", CompressionPlan.None)!;
        recorder.WaitUntilEntered();
        var good = batcher.TryEmbed(["good"], "", CompressionPlan.None)!;
        var bad = batcher.TryEmbed(["bad"], "", CompressionPlan.None)!;
        recorder.Open();
        await first;
        Assert.Equal(Embedder.Value.Embed("good"), (await good).Vectors[0]);
        await Assert.ThrowsAsync<RepShiftException>(() => bad);
    }
}
