using System.Runtime.InteropServices;
using Google.Protobuf;
using RepShift.Loading.Onnx.Proto;

namespace RepShift.Tests;

/// <summary>
/// A tiny ONNX model that ONNX Runtime loads with the inputs and output a BERT export has (input_ids,
/// attention_mask, token_type_ids → last_hidden_state), built here so the ONNX Runtime baselines can be tested
/// without a real model. Per token: embedding → two linears reading one activation (as a BERT layer's Q and K
/// do) → a MatMul of two computed tensors (as attention's Q·Kᵀ is; a quantizer must leave it fp32) → a ReLU
/// MLP with biases. Padding changes no real token's output.
/// </summary>
internal static class TinyOrtModel
{
    public const int Vocab = 20, Hidden = 8, Inner = 16;

    public static byte[] Build(int seed = 3)
    {
        var rng = new Random(seed);
        var g = new GraphProto { Name = "tiny-ort" };
        g.Input.Add(Typed("input_ids", 7, "batch", "sequence"));
        g.Input.Add(Typed("attention_mask", 7, "batch", "sequence"));
        g.Input.Add(Typed("token_type_ids", 7, "batch", "sequence"));
        g.Output.Add(Typed("last_hidden_state", 1, "batch", "sequence", $"{Hidden}"));
        void Init(string name, params long[] dims)
        {
            var data = new float[dims.Aggregate(1L, (a, b) => a * b)];
            for (int i = 0; i < data.Length; i++) data[i] = rng.NextSingle() * 2 - 1;
            g.Initializer.Add(new TensorProto { Name = name, DataType = 1, Dims = { dims }, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data.AsSpan())) });
        }
        void Node(string op, string name, string[] inputs, string output) =>
            g.Node.Add(new NodeProto { OpType = op, Name = name, Input = { inputs }, Output = { output } });

        Init("embeddings", Vocab, Hidden);
        Init("w_q", Hidden, Hidden);
        Init("w_k", Hidden, Hidden);
        Init("w_in", Hidden, Inner);
        Init("b_in", Inner);
        Init("w_out", Inner, Hidden);
        Init("b_out", Hidden);
        Node("Gather", "embed", ["embeddings", "input_ids"], "h0");
        // Two linears on one activation, and their elementwise product through a MatMul-free path.
        Node("MatMul", "q", ["h0", "w_q"], "q");
        Node("MatMul", "k", ["h0", "w_k"], "k");
        Node("Mul", "qk", ["q", "k"], "qk");
        // A MatMul of two computed tensors (per token: [1, d] · [d, 1] → the token's q·k score), kept fp32.
        g.Initializer.Add(new TensorProto { Name = "row", DataType = 7, Dims = { 4 }, Int64Data = { 0, 0, 1, Hidden } });
        g.Initializer.Add(new TensorProto { Name = "column", DataType = 7, Dims = { 4 }, Int64Data = { 0, 0, Hidden, 1 } });
        Node("Reshape", "q_row", ["q", "row"], "q_row");
        Node("Reshape", "k_column", ["k", "column"], "k_column");
        Node("MatMul", "score", ["q_row", "k_column"], "score4d");
        g.Initializer.Add(new TensorProto { Name = "score_shape", DataType = 7, Dims = { 3 }, Int64Data = { 0, 0, 1 } });
        Node("Reshape", "score3d", ["score4d", "score_shape"], "score");
        Node("Add", "mix", ["qk", "score"], "h1");
        Node("MatMul", "inner", ["h1", "w_in"], "inner_mm");
        Node("Add", "inner_bias", ["inner_mm", "b_in"], "inner");
        Node("Relu", "relu", ["inner"], "act");
        Node("MatMul", "outer", ["act", "w_out"], "outer_mm");
        Node("Add", "outer_bias", ["outer_mm", "b_out"], "last_hidden_state");
        return new ModelProto
        {
            IrVersion = 8,
            ProducerName = "repshift tests",
            Graph = g,
            OpsetImport = { new OperatorSetIdProto { Version = 17 } },
        }.ToByteArray();
    }

    /// <summary>Number of MatMuls with a constant weight (the ones a dynamic quantizer rewrites).</summary>
    public const int WeightMatMuls = 4;

    /// <summary>
    /// A graph input or output with its tensor type (ValueInfoProto.type, which RepShift's ONNX subset does not
    /// model): the bytes are written by field number and parsed back, so the type rides along as a field the
    /// parser keeps and writes out again. Dims are symbolic names or numbers.
    /// </summary>
    private static ValueInfoProto Typed(string name, int elementType, params string[] dims)
    {
        var shape = dims.Select(d => long.TryParse(d, out long v) ? Message(1, Varint(1, v)) : Message(1, Text(2, d))).SelectMany(b => b).ToArray();
        var tensor = Varint(1, elementType).Concat(Message(2, shape)).ToArray();
        var type = Message(1, tensor);
        var bytes = Text(1, name).Concat(Message(2, type)).ToArray();
        return ValueInfoProto.Parser.ParseFrom(bytes);
    }

    private static byte[] Varint(int field, long value) => [.. Raw((ulong)(field << 3)), .. Raw((ulong)value)];

    private static byte[] Message(int field, byte[] payload) => [.. Raw((ulong)(field << 3 | 2)), .. Raw((ulong)payload.Length), .. payload];

    private static byte[] Text(int field, string text) => Message(field, System.Text.Encoding.UTF8.GetBytes(text));

    private static byte[] Raw(ulong value)
    {
        var bytes = new List<byte>();
        do
        {
            byte b = (byte)(value & 0x7F);
            value >>= 7;
            bytes.Add(value != 0 ? (byte)(b | 0x80) : b);
        }
        while (value != 0);
        return [.. bytes];
    }
}
