using System.Runtime.InteropServices;
using RepShift.Loading.Onnx.Proto;

namespace RepShift.Loading.Onnx;

/// <summary>
/// An index over an ONNX graph for pattern walking: who produces and who consumes each tensor, the
/// initializers, and constants (initializers or Constant nodes) read as numbers.
/// </summary>
internal sealed class OnnxGraph
{
    private readonly Dictionary<string, TensorProto> _initializers = [];
    private readonly Dictionary<string, NodeProto> _producers = [];
    private readonly Dictionary<string, List<NodeProto>> _consumers = [];

    public OnnxGraph(GraphProto graph, string source)
    {
        Graph = graph;
        Source = source;
        foreach (var t in graph.Initializer) _initializers[t.Name] = t;
        foreach (var n in graph.Node)
        {
            foreach (var o in n.Output) _producers[o] = n;
            foreach (var i in n.Input)
            {
                if (i.Length == 0) continue;
                if (!_consumers.TryGetValue(i, out var list)) _consumers[i] = list = [];
                list.Add(n);
            }
        }
    }

    public GraphProto Graph { get; }
    public string Source { get; }

    public IReadOnlyList<NodeProto> Consumers(string tensor) => _consumers.TryGetValue(tensor, out var l) ? l : [];

    public NodeProto? Producer(string tensor) => _producers.GetValueOrDefault(tensor);

    public bool IsInitializer(string name) => _initializers.ContainsKey(name);

    public long[] Shape(string initializer) =>
        _initializers.TryGetValue(initializer, out var t) ? [.. t.Dims] : throw Error($"tensor '{initializer}' is not an initializer; expected a weight stored in the file");

    /// <summary>A dimension as an int, or an error when the file claims one no array can have.</summary>
    public int Dim(long value, string what) =>
        value is > 0 and <= int.MaxValue ? (int)value : throw Error($"{what} is {value}; expected a positive size below {int.MaxValue}");

    /// <summary>
    /// Counts one step of a walk along the graph. Every step of a real export passes a node it has not passed
    /// before, so more steps than nodes means the file's edges form a cycle (a corrupt file).
    /// </summary>
    public void Step()
    {
        if (++_steps > Graph.Node.Count + 16) throw Error("the graph's edges form a cycle; the file is corrupt");
    }

    private int _steps;

    /// <summary>A short description of what consumes a tensor, for error messages.</summary>
    public string Describe(string tensor)
    {
        var c = Consumers(tensor);
        return c.Count == 0 ? $"nothing consumes '{tensor}'" : $"'{tensor}' feeds {string.Join(", ", c.Select(n => $"{n.OpType} {n.Name}"))}";
    }

    public ModelFormatException Error(string message) => new($"{Source}: {message}");

    /// <summary>Reads a float initializer and checks its shape.</summary>
    public float[] Floats(string name, params long[] shape)
    {
        if (!_initializers.TryGetValue(name, out var t)) throw Error($"tensor '{name}' is not an initializer");
        if (!t.Dims.SequenceEqual(shape))
            throw Error($"tensor '{name}' has shape [{string.Join(", ", t.Dims)}], expected [{string.Join(", ", shape)}]");
        if (t.DataLocation != 0 || t.ExternalData.Count > 0) throw Error($"tensor '{name}' stores its data outside the model file; external data is not supported");
        // Checked: a corrupt file may claim dims whose product overflows; none that large can be in the file.
        long count;
        try { count = shape.Aggregate(1L, (a, b) => b < 0 ? throw Error($"tensor '{name}' has a negative dimension") : checked(a * b)); }
        catch (OverflowException) { throw Error($"tensor '{name}' claims shape [{string.Join(", ", shape)}], more values than any file holds"); }
        if (t.DataType != 1) throw Error($"tensor '{name}' has ONNX data type {t.DataType}, expected 1 (float32)");
        if (t.RawData.Length > 0)
        {
            if (t.RawData.Length / 4 != count || t.RawData.Length % 4 != 0) throw Error($"tensor '{name}' holds {t.RawData.Length} bytes, shape needs {count * 4}; the file may be truncated or corrupt");
            return MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
        }
        if (t.FloatData.Count != count) throw Error($"tensor '{name}' holds {t.FloatData.Count} values, shape needs {count}");
        return [.. t.FloatData];
    }

    /// <summary>The numeric values of a constant (an initializer or a Constant node's value), or null if the tensor is not constant.</summary>
    public double[]? Constant(string name)
    {
        TensorProto? t = _initializers.GetValueOrDefault(name);
        if (t == null && Producer(name) is { OpType: "Constant" } node)
            t = node.Attribute.FirstOrDefault(a => a.Name == "value")?.T;
        if (t == null) return null;
        var raw = t.RawData.Span;
        return t.DataType switch
        {
            1 => raw.Length > 0 ? Array.ConvertAll(MemoryMarshal.Cast<byte, float>(raw).ToArray(), v => (double)v) : [.. t.FloatData.Select(v => (double)v)],
            7 => raw.Length > 0 ? Array.ConvertAll(MemoryMarshal.Cast<byte, long>(raw).ToArray(), v => (double)v) : [.. t.Int64Data.Select(v => (double)v)],
            6 => raw.Length > 0 ? Array.ConvertAll(MemoryMarshal.Cast<byte, int>(raw).ToArray(), v => (double)v) : [.. t.Int32Data.Select(v => (double)v)],
            11 => raw.Length > 0 ? MemoryMarshal.Cast<byte, double>(raw).ToArray() : [.. t.DoubleData],
            _ => null,
        };
    }

    /// <summary>The single scalar value of a constant, or null.</summary>
    public double? Scalar(string name) => Constant(name) is [var v] ? v : null;

    /// <summary>For a binary node with one constant and one computed input: the computed input and the constant's name.</summary>
    public (string Other, string Constant)? SplitConstant(NodeProto node)
    {
        if (node.Input.Count != 2) return null;
        bool c0 = Constant(node.Input.At(0)) != null || IsInitializer(node.Input.At(0));
        bool c1 = Constant(node.Input.At(1)) != null || IsInitializer(node.Input.At(1));
        if (c0 == c1) return null;
        return c0 ? (node.Input.At(1), node.Input.At(0)) : (node.Input.At(0), node.Input.At(1));
    }
}

/// <summary>Node inputs and outputs by position, tolerant of corrupt files that have fewer.</summary>
internal static class OnnxNodeLists
{
    /// <summary>The <paramref name="index"/>th name, or "" (ONNX's "no tensor here") when there are fewer; "" matches no tensor.</summary>
    public static string At(this Google.Protobuf.Collections.RepeatedField<string> names, int index) =>
        index < names.Count ? names[index] : "";
}
