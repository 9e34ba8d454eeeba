using RepShift.Loading.Onnx.Proto;

namespace RepShift.Loading.Onnx;

/// <summary>A LayerNorm found in the graph: its parameters by name, eps, and the tensor it produces.</summary>
internal sealed record LayerNormPattern(string Gamma, string Beta, float Eps, string Output)
{
    /// <summary>
    /// Matches LayerNorm applied to <paramref name="input"/>: the fused LayerNormalization op, or the
    /// decomposition PyTorch exports at opset &lt; 17: ReduceMean → Sub → Pow 2 → ReduceMean → Add eps
    /// → Sqrt → Div → Mul γ → Add β.
    /// </summary>
    public static LayerNormPattern? Match(OnnxGraph g, string input)
    {
        var consumers = g.Consumers(input);
        if (consumers.FirstOrDefault(n => n.OpType == "LayerNormalization" && n.Input.At(0) == input) is { } fused)
        {
            if (fused.Input.Count < 3) return null;
            float eps = fused.Attribute.FirstOrDefault(a => a.Name == "epsilon")?.F ?? 1e-5f;
            return new LayerNormPattern(fused.Input.At(1), fused.Input.At(2), eps, fused.Output.At(0));
        }
        var mean = consumers.FirstOrDefault(n => n.OpType == "ReduceMean");
        if (mean == null) return null;
        var centered = consumers.FirstOrDefault(n => n.OpType == "Sub" && n.Input.At(0) == input && n.Input.At(1) == mean.Output.At(0));
        if (centered == null) return null;
        var c = centered.Output.At(0);
        var pow = g.Consumers(c).FirstOrDefault(n => n.OpType == "Pow" && g.Scalar(n.Input.At(1)) == 2);
        var div = g.Consumers(c).FirstOrDefault(n => n.OpType == "Div" && n.Input.At(0) == c);
        if (pow == null || div == null) return null;
        var variance = Single(g, pow.Output.At(0), "ReduceMean");
        var addEps = variance == null ? null : Single(g, variance.Output.At(0), "Add");
        var sqrt = addEps == null ? null : Single(g, addEps.Output.At(0), "Sqrt");
        if (sqrt == null || div.Input.At(1) != sqrt.Output.At(0) || g.SplitConstant(addEps!) is not { } epsPart) return null;
        var mul = Single(g, div.Output.At(0), "Mul");
        var add = mul == null ? null : Single(g, mul.Output.At(0), "Add");
        if (mul == null || add == null || g.SplitConstant(mul) is not { } gamma || g.SplitConstant(add) is not { } beta) return null;
        return new LayerNormPattern(gamma.Constant, beta.Constant, (float)(g.Scalar(epsPart.Constant) ?? double.NaN), add.Output.At(0));
    }

    private static NodeProto? Single(OnnxGraph g, string tensor, string op) =>
        g.Consumers(tensor) is [var n] && n.OpType == op ? n : null;
}
