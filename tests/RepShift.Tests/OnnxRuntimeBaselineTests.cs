using RepShift.Cli.Baselines;
using RepShift.Cli.Benchmarks;

namespace RepShift.Tests;

/// <summary>The ONNX Runtime baselines of <c>repshift bench</c>: length-sorted batching and the engine names.</summary>
public class OnnxRuntimeBaselineTests
{
    private static List<int[]> RandomIds(int count, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, rng.Next(1, 13)).Select(_ => rng.Next(TinyOrtModel.Vocab)).ToArray())];
    }

    [Fact]
    public void Sorted_batches_give_the_padded_embeddings_in_input_order()
    {
        using var ort = new OnnxRuntimeEncoder(TinyOrtModel.Build(), intraOpThreads: 1);
        var ids = RandomIds(37, seed: 5);
        var padded = ids.Chunk(4).SelectMany(b => ort.Embed(b)).ToList();
        var sorted = ort.EmbedSorted(ids, batchSize: 4);
        Assert.Equal(ids.Count, sorted.Length);
        // Same tokens, other batch shapes: only the summation order inside ONNX Runtime's kernels may differ.
        for (int i = 0; i < ids.Count; i++)
            for (int j = 0; j < padded[i].Length; j++) Assert.Equal(padded[i][j], sorted[i][j], 1e-5f);
    }

    [Fact]
    public void Sorting_puts_the_longest_first_and_keeps_ties_in_input_order()
    {
        int[][] ids = [[1], [1, 2, 3], [4, 5], [6, 7, 8], [9]];
        Assert.Equal([1, 3, 2, 0, 4], OnnxRuntimeEncoder.LengthOrder(ids));
    }

    [Fact]
    public void Engine_names_parse_and_presets_expand_per_precision()
    {
        var specs = EngineSpec.List("repshift,repshift-int8,onnxruntime,onnxruntime-sorted", "balanced,fast");
        Assert.Equal(["repshift", "repshift-int8", "onnxruntime", "onnxruntime-sorted", "repshift:balanced", "repshift-int8:balanced", "repshift:fast", "repshift-int8:fast"], specs.Select(s => s.Name));
        Assert.True(specs[3].IsOnnxRuntime && specs[3].IsSorted);
        Assert.False(specs[2].IsSorted);
        Assert.True(specs[5].IsRepShiftInt8);
        Assert.Equal("balanced", specs[5].Preset);
        Assert.False(specs[4].Plan.IsDense);
        // Without repshift-int8 a preset adds only the fp32 row; a name given twice runs once.
        Assert.Equal(["repshift", "onnxruntime", "repshift:balanced"], EngineSpec.List("repshift, onnxruntime,repshift", "balanced").Select(s => s.Name));
        Assert.Equal(["repshift", "onnxruntime", "onnxruntime-sorted"], EngineSpec.List(EngineSpec.DefaultEngines, null).Select(s => s.Name));
    }

    [Theory]
    [InlineData("onnx", "unknown engine 'onnx'")]
    [InlineData("onnxruntime:balanced", "only repshift and repshift-int8 take a compression preset")]
    [InlineData("repshift:nosuch", "nosuch")]
    [InlineData(" , ", "--engines is empty")]
    public void Bad_engine_names_are_one_line_errors(string engines, string message)
    {
        var e = Assert.Throws<RepShiftException>(() => EngineSpec.List(engines, null));
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
