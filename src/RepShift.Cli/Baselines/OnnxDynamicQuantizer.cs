using System.Runtime.InteropServices;
using Google.Protobuf;
using RepShift.Loading;
using RepShift.Loading.Onnx.Proto;

namespace RepShift.Cli.Baselines;

/// <summary>What <see cref="OnnxDynamicQuantizer.Quantize"/> did to a model.</summary>
internal sealed record QuantizedOnnx(byte[] Model, int QuantizedMatMuls, int Fp32MatMuls, long Fp32WeightBytes, long Int8WeightBytes);

/// <summary>
/// Rewrites an fp32 ONNX model the way ONNX Runtime's dynamic quantizer does by default
/// (<c>onnxruntime.quantization.quantize_dynamic</c>, QOperator format) with <c>per_channel=True</c>, or with its
/// default <c>per_channel=False</c> (<c>perChannel: false</c>: one weight scale per matrix): every
/// MatMul whose weight B is a constant [K, N] initializer becomes
/// <c>DynamicQuantizeLinear(A) → MatMulInteger(A_q, B_q, A_zero, B_zero) → Cast(float) → Mul(·, A_scale · B_scale)</c>.
/// Activations: uint8, one scale and zero point per tensor per run (padding included), one DynamicQuantizeLinear
/// shared by every MatMul that reads the same tensor. Weights: int8, symmetric (zero point 0), one scale per output
/// channel (column n of B: max |B[·, n]| / 127), rounded half to even. MatMuls of two computed tensors (attention's
/// Q·Kᵀ and P·V) stay fp32, as in ONNX Runtime. Its graph optimizer then fuses each chain into MatMulIntegerToFloat
/// (and, where the quantized activation feeds one MatMul only, DynamicQuantizeMatMul).
/// </summary>
internal static class OnnxDynamicQuantizer
{
    private const int Float = 1, Int8 = 3;

    public static QuantizedOnnx Quantize(byte[] fp32, string source, bool perChannel = true)
    {
        ModelProto model;
        try { model = ModelProto.Parser.ParseFrom(fp32); }
        catch (InvalidProtocolBufferException e) { throw new ModelFormatException($"{source}: not an ONNX model ({e.Message})"); }
        var graph = model.Graph ?? throw new ModelFormatException($"{source}: the ONNX model has no graph");
        long opset = model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(0).Max();
        if (opset < 11) throw new ModelFormatException($"{source}: opset {opset}; DynamicQuantizeLinear needs opset 11 or later");

        var initializers = new Dictionary<string, TensorProto>();
        foreach (var t in graph.Initializer) initializers.TryAdd(t.Name, t);
        var taken = new HashSet<string>(graph.Node.SelectMany(n => n.Output.Append(n.Name)).Concat(initializers.Keys).Concat(graph.Input.Select(i => i.Name)));
        string Unique(string name)
        {
            string candidate = name;
            for (int i = 1; !taken.Add(candidate); i++) candidate = $"{name}_{i}";
            return candidate;
        }

        var weights = new Dictionary<string, (string Q, string Scale, string Zero)>();
        var activations = new Dictionary<string, (string Q, string Scale, string Zero)>();
        var nodes = new List<NodeProto>();
        int quantized = 0, fp32MatMuls = 0;
        long fp32Bytes = 0, int8Bytes = 0;
        foreach (var node in graph.Node)
        {
            if (node.OpType != "MatMul" || node.Domain is not ("" or "ai.onnx")) { nodes.Add(node); continue; }
            if (node.Input.Count != 2 || !initializers.TryGetValue(node.Input[1], out var b) || b.DataType != Float || b.Dims.Count != 2)
            {
                fp32MatMuls++;
                nodes.Add(node);
                continue;
            }
            if (!weights.TryGetValue(b.Name, out var w))
            {
                int k = (int)b.Dims[0], n = (int)b.Dims[1];
                var values = Floats(b, source);
                // Per tensor is per column of the matrix seen as one column; the scale and zero point become scalars.
                var (q, scales) = perChannel ? QuantizePerColumn(values, k, n) : QuantizePerColumn(values, k * n, 1);
                long[] scaleDims = perChannel ? [n] : [];
                w = (Unique(b.Name + "_quantized"), Unique(b.Name + "_scale"), Unique(b.Name + "_zero_point"));
                graph.Initializer.Add(new TensorProto { Name = w.Q, DataType = Int8, Dims = { b.Dims }, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(q.AsSpan())) });
                graph.Initializer.Add(new TensorProto { Name = w.Scale, DataType = Float, Dims = { scaleDims }, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(scales.AsSpan())) });
                graph.Initializer.Add(new TensorProto { Name = w.Zero, DataType = Int8, Dims = { scaleDims }, RawData = ByteString.CopyFrom(new byte[scales.Length]) });
                weights[b.Name] = w;
                fp32Bytes += q.Length * sizeof(float);
                int8Bytes += q.Length + scales.Length * (sizeof(float) + 1);
            }
            string a = node.Input[0];
            if (!activations.TryGetValue(a, out var x))
            {
                x = (Unique(a + "_quantized"), Unique(a + "_scale"), Unique(a + "_zero_point"));
                nodes.Add(Node("DynamicQuantizeLinear", Unique(a + "_QuantizeLinear"), [a], [x.Q, x.Scale, x.Zero]));
                activations[a] = x;
            }
            string name = Unique((node.Name.Length > 0 ? node.Name : node.Output[0]) + "_quant");
            string integer = Unique(node.Output[0] + "_output_quantized");
            string cast = Unique(integer + "_cast_output");
            string scale = Unique(name + "_scales_mul:0");
            nodes.Add(Node("MatMulInteger", name, [x.Q, w.Q, x.Zero, w.Zero], [integer]));
            var castNode = Node("Cast", Unique(integer + "_cast"), [integer], [cast]);
            castNode.Attribute.Add(new AttributeProto { Name = "to", Type = 2, I = Float });
            nodes.Add(castNode);
            nodes.Add(Node("Mul", Unique(name + "_scales_mul"), [x.Scale, w.Scale], [scale]));
            nodes.Add(Node("Mul", Unique(name + "_output_scale_mul"), [cast, scale], [node.Output[0]]));
            quantized++;
        }
        graph.Node.Clear();
        graph.Node.Add(nodes);
        // The fp32 weights that only quantized MatMuls read are gone from the graph; drop them from the file too.
        var read = new HashSet<string>(nodes.SelectMany(n => n.Input).Concat(graph.Output.Select(o => o.Name)));
        foreach (var dead in graph.Initializer.Where(t => weights.ContainsKey(t.Name) && !read.Contains(t.Name)).ToList()) graph.Initializer.Remove(dead);
        foreach (var dead in graph.Input.Where(i => weights.ContainsKey(i.Name) && !read.Contains(i.Name)).ToList()) graph.Input.Remove(dead);
        model.ProducerName = "repshift quantize-onnx";
        return new QuantizedOnnx(model.ToByteArray(), quantized, fp32MatMuls, fp32Bytes, int8Bytes);
    }

    /// <summary>
    /// Symmetric int8 per column of a row-major [K, N] matrix: scale_n = max_k |B[k, n]| / 127 (1 for an all-zero
    /// column), q = round_half_even(B / scale) in [−127, 127]. Public for the tests' reference check.
    /// </summary>
    public static (sbyte[] Q, float[] Scales) QuantizePerColumn(float[] b, int k, int n)
    {
        var scales = new float[n];
        for (int r = 0; r < k; r++)
            for (int c = 0; c < n; c++) scales[c] = MathF.Max(scales[c], MathF.Abs(b[r * n + c]));
        for (int c = 0; c < n; c++) scales[c] = scales[c] > 0 ? scales[c] / 127f : 1f;
        var q = new sbyte[b.Length];
        for (int r = 0; r < k; r++)
            for (int c = 0; c < n; c++) q[r * n + c] = (sbyte)Math.Clamp(MathF.Round(b[r * n + c] / scales[c], MidpointRounding.ToEven), -127, 127);
        return (q, scales);
    }

    private static NodeProto Node(string op, string name, string[] inputs, string[] outputs) =>
        new() { OpType = op, Name = name, Input = { inputs }, Output = { outputs } };

    private static float[] Floats(TensorProto t, string source)
    {
        if (t.DataLocation != 0 || t.ExternalData.Count > 0) throw new ModelFormatException($"{source}: tensor '{t.Name}' stores its data outside the model file; external data is not supported");
        long count = t.Dims.Aggregate(1L, (a, d) => a * d);
        if (t.RawData.Length > 0)
        {
            if (t.RawData.Length != count * sizeof(float)) throw new ModelFormatException($"{source}: tensor '{t.Name}' holds {t.RawData.Length} bytes, its shape needs {count * sizeof(float)}");
            return MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
        }
        if (t.FloatData.Count != count) throw new ModelFormatException($"{source}: tensor '{t.Name}' holds {t.FloatData.Count} values, its shape needs {count}");
        return [.. t.FloatData];
    }
}
