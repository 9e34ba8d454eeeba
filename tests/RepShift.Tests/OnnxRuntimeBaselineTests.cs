using RepShift.Cli.Baselines;
using RepShift.Cli.Benchmarks;
using RepShift.Loading.Onnx.Proto;

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
        Assert.False(specs[4].PlanFor("all-MiniLM-L6-v2").IsDense);
        var int8 = EngineSpec.List("onnxruntime-int8,onnxruntime-int8-padded", null);
        Assert.True(int8.All(s => s.IsOnnxRuntime && s.IsOnnxRuntimeInt8));
        Assert.True(int8[0].IsSorted);
        Assert.False(int8[1].IsSorted);
        // Without repshift-int8 a preset adds only the fp32 row; a name given twice runs once.
        Assert.Equal(["repshift", "onnxruntime", "repshift:balanced"], EngineSpec.List("repshift, onnxruntime,repshift", "balanced").Select(s => s.Name));
        Assert.Equal(["repshift", "onnxruntime", "onnxruntime-sorted", "onnxruntime-int8"], EngineSpec.List(EngineSpec.DefaultEngines, null).Select(s => s.Name));
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

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Quantized_model_has_the_dynamic_quantizer_pattern_and_ort_fuses_it(bool perChannel)
    {
        byte[] fp32 = TinyOrtModel.Build();
        var q = OnnxDynamicQuantizer.Quantize(fp32, "tiny", perChannel);
        Assert.Equal(TinyOrtModel.WeightMatMuls, q.QuantizedMatMuls);
        Assert.Equal(1, q.Fp32MatMuls); // the MatMul of two computed tensors
        var graph = ModelProto.Parser.ParseFrom(q.Model).Graph;
        var types = graph.Node.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
        // q and k read one activation: one DynamicQuantizeLinear for both, one each for the MLP's two MatMuls.
        Assert.Equal(3, types["DynamicQuantizeLinear"]);
        Assert.Equal(4, types["MatMulInteger"]);
        Assert.Equal(4, types["Cast"]);
        Assert.Equal(1, types["MatMul"]);
        Assert.DoesNotContain(graph.Initializer, t => t.Name is "w_q" or "w_k" or "w_in" or "w_out"); // fp32 weights dropped
        Assert.Contains(graph.Input, i => i.Name == "input_ids");
        var scale = graph.Initializer.Single(t => t.Name == "w_in_scale");
        Assert.Equal(perChannel ? [TinyOrtModel.Inner] : [], scale.Dims);

        // ONNX Runtime's optimizer: MatMulInteger + Cast + Mul → MatMulIntegerToFloat, and with a DynamicQuantizeLinear
        // that feeds only it → DynamicQuantizeMatMul. Nothing may stay on the unfused integer path.
        var optimized = OnnxRuntimeEncoder.OptimizedNodeTypes(q.Model);
        Assert.False(optimized.ContainsKey("MatMulInteger"));
        Assert.Equal(2, optimized.GetValueOrDefault("DynamicQuantizeMatMul"));
        Assert.Equal(2, optimized.GetValueOrDefault("MatMulIntegerToFloat"));
        Assert.Equal(1, optimized.GetValueOrDefault("DynamicQuantizeLinear"));
    }

    [Fact]
    public void Quantized_weights_are_per_column_symmetric_int8_of_the_fp32_ones()
    {
        var rng = new Random(11);
        int k = 13, n = 7;
        var b = new float[k * n];
        for (int i = 0; i < b.Length; i++) b[i] = (rng.NextSingle() * 2 - 1) * (1 + i % n); // columns of different ranges
        for (int r = 0; r < k; r++) b[r * n + 3] = 0; // an all-zero column
        var (q, scales) = OnnxDynamicQuantizer.QuantizePerColumn(b, k, n);
        for (int c = 0; c < n; c++)
        {
            float max = Enumerable.Range(0, k).Max(r => MathF.Abs(b[r * n + c]));
            Assert.Equal(max > 0 ? max / 127 : 1, scales[c]);
            if (max > 0) Assert.Equal(127, Enumerable.Range(0, k).Max(r => Math.Abs((int)q[r * n + c])));
            for (int r = 0; r < k; r++) Assert.InRange(MathF.Abs(q[r * n + c] * scales[c] - b[r * n + c]), 0, scales[c] / 2 * 1.0001f);
        }
        // The file holds exactly these bytes.
        var model = ModelProto.Parser.ParseFrom(OnnxDynamicQuantizer.Quantize(TinyOrtModel.Build(), "tiny").Model);
        var fp32 = ModelProto.Parser.ParseFrom(TinyOrtModel.Build()).Graph.Initializer.Single(t => t.Name == "w_in");
        var expected = OnnxDynamicQuantizer.QuantizePerColumn(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(fp32.RawData.Span).ToArray(), TinyOrtModel.Hidden, TinyOrtModel.Inner);
        var stored = model.Graph.Initializer.Single(t => t.Name == "w_in_quantized");
        Assert.Equal(3, stored.DataType);
        Assert.Equal(expected.Q.Select(v => (byte)v), stored.RawData.ToByteArray());
    }

    [Fact]
    public void Int8_embeddings_stay_close_to_fp32_in_onnx_runtime()
    {
        byte[] fp32 = TinyOrtModel.Build();
        using var a = new OnnxRuntimeEncoder(fp32, intraOpThreads: 1);
        using var b = new OnnxRuntimeEncoder(OnnxDynamicQuantizer.Quantize(fp32, "tiny").Model, intraOpThreads: 1);
        var ids = RandomIds(40, seed: 9);
        var x = a.EmbedSorted(ids, 8);
        var y = b.EmbedSorted(ids, 8);
        // Three quantized stages, 8-bit activations (one range per batch) and weights: a relative error near
        // 1/255 per stage, which costs the cosine ~1e-5 per stage; 0.999 leaves a wide margin for this random net
        // while a wrong scale, a transposed weight or a mixed-up column gives a cosine far below it.
        for (int i = 0; i < ids.Count; i++) Assert.InRange(System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(x[i], y[i]), 0.999f, 1.0001f);
        Assert.NotEqual(x[0], y[0]); // it did quantize
    }
}
