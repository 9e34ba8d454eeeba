using System.CommandLine;
using System.Numerics.Tensors;
using RepShift.Cli.Baselines;

namespace RepShift.Cli.Commands;

/// <summary>
/// <c>repshift quantize-onnx</c>: the int8 ONNX Runtime baseline, made in C# from the fp32 ONNX file the way ONNX
/// Runtime's own dynamic quantizer makes it, then checked: which nodes ONNX Runtime's optimizer fused the rewrite
/// into, and how close its embeddings stay to the fp32 model's.
/// </summary>
internal static class QuantizeOnnxCommand
{
    /// <summary>The fused node types ONNX Runtime turns the quantized MatMuls into (contrib ops, CPU).</summary>
    public static readonly string[] FusedTypes = ["DynamicQuantizeMatMul", "MatMulIntegerToFloat"];

    public static Command Create()
    {
        var common = new CommonOptions();
        var output = new Option<string>("--output") { Description = "The int8 .onnx file to write", Required = true }.OutputFile();
        var maxTokens = new Option<int>("--max-tokens") { Description = "Tokens per verification text for the quality check", DefaultValueFactory = _ => 256 }.Range(2, 1 << 20);
        var perTensor = new Option<bool>("--per-tensor") { Description = "One scale per weight matrix, as quantize_dynamic does by default (per_channel=False); default: one per output channel" };
        var json = new Option<bool>("--json") { Description = """Print one JSON object on stdout: {"quantized_matmuls":N,"fp32_matmuls":N,"optimized_nodes":{"MatMulIntegerToFloat":N,...},"texts":N,"min_cosine":x,"mean_cosine":y}""" };
        var command = new Command("quantize-onnx", """
            Quantize an fp32 ONNX model to int8 as ONNX Runtime's dynamic quantizer does (quantize_dynamic,
            QOperator format, per_channel=True): every MatMul with a constant weight becomes DynamicQuantizeLinear
            (uint8 activations, one scale per tensor) → MatMulInteger (int8 weights, one scale per output channel,
            zero point 0) → Cast → Mul by the two scales. MatMuls of two computed tensors (attention) stay fp32.
            Then checks the result: loads it in ONNX Runtime, saves the optimized graph and counts the node types
            the MatMuls were fused into (MatMulIntegerToFloat, DynamicQuantizeMatMul), and compares its embeddings
            with the fp32 model's on the verify texts (cosine per text). Exit code 1 when a MatMulInteger stays unfused.
            This is the model `repshift bench --engines onnxruntime-int8` runs (it quantizes in memory, or takes --onnx-int8 FILE).
            Example: repshift quantize-onnx --output minilm-int8.onnx
            Example: repshift quantize-onnx --per-tensor --output minilm-int8-pt.onnx && repshift bench --onnx-int8 minilm-int8-pt.onnx
            """);
        command.Options.Add(common.Model);
        command.Options.Add(output);
        command.Options.Add(maxTokens);
        command.Options.Add(perTensor);
        command.Options.Add(json);
        command.SetAction(r =>
        {
            byte[] fp32 = common.OnnxBytes(r);
            string source = r.GetValue(common.Model) ?? Loading.ModelLoader.DefaultModelName;
            var q = OnnxDynamicQuantizer.Quantize(fp32, source, perChannel: !r.GetValue(perTensor));
            string path = r.GetValue(output)!;
            File.WriteAllBytes(path, q.Model);
            Console.Error.WriteLine($"{path}: {q.QuantizedMatMuls} MatMuls quantized to int8 ({(r.GetValue(perTensor) ? "one weight scale per matrix" : "one weight scale per output channel")}), {q.Fp32MatMuls} MatMuls of computed tensors left fp32; "
                + $"their weights {q.Fp32WeightBytes / 1e6:F1} MB → {q.Int8WeightBytes / 1e6:F1} MB; file {fp32.Length / 1e6:F1} MB → {q.Model.Length / 1e6:F1} MB");

            var nodes = OnnxRuntimeEncoder.OptimizedNodeTypes(q.Model);
            int fused = FusedTypes.Sum(t => nodes.GetValueOrDefault(t));
            int unfused = nodes.GetValueOrDefault("MatMulInteger");
            Console.Error.WriteLine("ONNX Runtime's optimized graph: " + string.Join(", ", FusedTypes.Append("MatMulInteger").Append("DynamicQuantizeLinear").Append("MatMul").Select(t => $"{t} {nodes.GetValueOrDefault(t)}")));

            var (count, minCos, meanCos) = Agreement(fp32, q.Model, r.GetValue(common.Model), r.GetValue(maxTokens));
            Console.Error.WriteLine($"int8 vs fp32 ONNX Runtime embeddings on {count} verify texts (batches of 16 sorted by length): min cosine {minCos:F5}, mean {meanCos:F5}");
            bool ok = unfused == 0 && fused > 0;
            if (!ok) Console.Error.WriteLine($"CHECK FAILED: {unfused} MatMulInteger nodes unfused, {fused} fused; ONNX Runtime would run the slow integer path");
            if (r.GetValue(json))
                Cli.WriteJson(new { quantized_matmuls = q.QuantizedMatMuls, fp32_matmuls = q.Fp32MatMuls, fp32_weight_bytes = q.Fp32WeightBytes, int8_weight_bytes = q.Int8WeightBytes, optimized_nodes = nodes, texts = count, min_cosine = minCos, mean_cosine = meanCos });
            return ok ? 0 : 1;
        });
        return command;
    }

    /// <summary>Cosine of each verify text's int8 embedding to its fp32 one, both from ONNX Runtime, tokenized by the model's tokenizer.</summary>
    private static (int Count, double Min, double Mean) Agreement(byte[] fp32, byte[] int8, string? model, int maxTokens)
    {
        using var tokenizer = TextEmbedder.Load(model, new EmbedderOptions { MaxTokens = maxTokens, Threads = 1 });
        var ids = VerificationTexts.All.Select(t => tokenizer.Tokenize(t).Ids).ToList();
        using var a = new OnnxRuntimeEncoder(fp32, Environment.ProcessorCount);
        using var b = new OnnxRuntimeEncoder(int8, Environment.ProcessorCount);
        var x = a.EmbedSorted(ids, 16);
        var y = b.EmbedSorted(ids, 16);
        var cos = x.Zip(y, (u, v) => (double)TensorPrimitives.CosineSimilarity(u, v)).ToList();
        return (cos.Count, cos.Min(), cos.Average());
    }
}
