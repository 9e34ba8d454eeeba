using System.Text;
using System.Text.Json;
using Google.Protobuf;
using RepShift.Loading;
using RepShift.Loading.Onnx.Proto;

namespace RepShift.Cli.Benchmarks;

/// <summary>
/// The files of a tiny random BERT (hidden 8, 2 heads, 2 layers, FFN 16, 16 positions), in memory: a Hugging
/// Face folder (config.json, model.safetensors, vocab.txt) and the same model as an ONNX export laid out as
/// PyTorch exports BERT. Small enough that a fuzz case loads in well under a millisecond; complete enough that
/// both loaders accept it, so mutations reach every check.
/// </summary>
internal sealed class TinyModelFiles
{
    public const int Hidden = 8, Heads = 2, Layers = 2, Intermediate = 16, Positions = 16, TypeVocab = 2;

    public static readonly string[] Vocab =
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "cat", "dog", "sat", "on", "mat", "hello", "world", "##s", "##ing", ".", ","];

    public byte[] Config { get; }
    public byte[] Weights { get; }
    public byte[] VocabText { get; }
    public byte[] Onnx { get; }

    public TinyModelFiles(int seed = 1)
    {
        var rng = new Random(seed);
        float[] Values(int n, float scale, float center = 0)
        {
            var a = new float[n];
            for (int i = 0; i < n; i++) a[i] = center + (rng.NextSingle() * 2 - 1) * scale;
            return a;
        }
        int d = Hidden, f = Intermediate, v = Vocab.Length;
        // Weights in the ONNX layout ([in, out] for Linear); the safetensors file stores PyTorch's [out, in].
        var tensors = new List<(string Name, int[] Shape, float[] Data)>
        {
            ("embeddings.word_embeddings.weight", [v, d], Values(v * d, 0.5f)),
            ("embeddings.position_embeddings.weight", [Positions, d], Values(Positions * d, 0.5f)),
            ("embeddings.token_type_embeddings.weight", [TypeVocab, d], Values(TypeVocab * d, 0.5f)),
            ("embeddings.LayerNorm.weight", [d], Values(d, 0.2f, 1)),
            ("embeddings.LayerNorm.bias", [d], Values(d, 0.1f)),
        };
        var linears = new List<(string Name, int In, int Out, float[] Data)>();
        for (int l = 0; l < Layers; l++)
        {
            string p = $"encoder.layer.{l}.";
            foreach (var (name, inDim, outDim) in new[] { ("attention.self.query", d, d), ("attention.self.key", d, d), ("attention.self.value", d, d), ("attention.output.dense", d, d), ("intermediate.dense", d, f), ("output.dense", f, d) })
            {
                linears.Add((p + name, inDim, outDim, Values(inDim * outDim, 0.4f)));
                tensors.Add((p + name + ".bias", [outDim], Values(outDim, 0.1f)));
            }
            foreach (var norm in new[] { "attention.output.LayerNorm", "output.LayerNorm" })
            {
                tensors.Add((p + norm + ".weight", [d], Values(d, 0.2f, 1)));
                tensors.Add((p + norm + ".bias", [d], Values(d, 0.1f)));
            }
        }
        var all = tensors.Concat(linears.Select(x => (x.Name + ".weight", new[] { x.Out, x.In }, Transpose(x.Data, x.In, x.Out)))).ToList();
        using (var weights = new MemoryStream())
        {
            SafeTensorsWriter.Write(weights, all, metadata: new Dictionary<string, string> { ["format"] = "pt" });
            Weights = weights.ToArray();
        }
        Config = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["architectures"] = new[] { "BertModel" },
            ["model_type"] = "bert",
            ["vocab_size"] = v,
            ["hidden_size"] = d,
            ["num_hidden_layers"] = Layers,
            ["num_attention_heads"] = Heads,
            ["intermediate_size"] = f,
            ["max_position_embeddings"] = Positions,
            ["type_vocab_size"] = TypeVocab,
            ["layer_norm_eps"] = 1e-12,
            ["hidden_act"] = "gelu",
        });
        VocabText = Encoding.UTF8.GetBytes(string.Join("\n", Vocab) + "\n");
        var byName = tensors.ToDictionary(t => t.Name, t => t.Data);
        foreach (var x in linears) byName[x.Name + ".weight"] = x.Data;
        Onnx = OnnxExport(byName, v).ToByteArray();
    }

    /// <summary>Writes the Hugging Face folder's three files into <paramref name="folder"/>.</summary>
    public void WriteFolder(string folder)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, HuggingFaceFolder.ConfigFile), Config);
        File.WriteAllBytes(Path.Combine(folder, HuggingFaceFolder.WeightsFile), Weights);
        File.WriteAllBytes(Path.Combine(folder, "vocab.txt"), VocabText);
        // sentence-transformers' Pooling config, so both the folder and an .onnx placed in it state their pooling.
        Directory.CreateDirectory(Path.Combine(folder, "1_Pooling"));
        File.WriteAllText(Path.Combine(folder, "1_Pooling", "config.json"), $$"""{"word_embedding_dimension": {{Hidden}}, "pooling_mode_mean_tokens": true}""");
    }

    private static float[] Transpose(float[] a, int rows, int cols)
    {
        var t = new float[a.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
        return t;
    }

    /// <summary>The graph PyTorch's exporter writes for BertModel (fused LayerNormalization, erf GELU, Q·Kᵀ/√d → mask Add → Softmax → ·V).</summary>
    private static ModelProto OnnxExport(Dictionary<string, float[]> w, int vocab)
    {
        int d = Hidden, f = Intermediate, headDim = Hidden / Heads;
        var g = new GraphProto { Name = "tiny-bert" };
        foreach (var input in new[] { "input_ids", "token_type_ids", "attention_mask_bias" }) g.Input.Add(new ValueInfoProto { Name = input });
        int counter = 0;
        string Fresh(string hint) => $"{hint}_{counter++}";
        void Init(string name, long[] dims, float[] data) =>
            g.Initializer.Add(new TensorProto { Name = name, DataType = 1, Dims = { dims }, RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan())) });
        void Scalar(string name, float value) => g.Initializer.Add(new TensorProto { Name = name, DataType = 1, FloatData = { value } });
        void Longs(string name, long[] values) => g.Initializer.Add(new TensorProto { Name = name, DataType = 7, Dims = { values.Length }, Int64Data = { values } });
        string Node(string op, string[] inputs, string hint, params AttributeProto[] attributes)
        {
            string output = Fresh(hint);
            var node = new NodeProto { OpType = op, Name = Fresh(op), Input = { inputs }, Output = { output } };
            node.Attribute.Add(attributes);
            g.Node.Add(node);
            return output;
        }
        string LayerNorm(string x, string prefix)
        {
            Init(prefix + ".weight", [d], w[prefix + ".weight"]);
            Init(prefix + ".bias", [d], w[prefix + ".bias"]);
            return Node("LayerNormalization", [x, prefix + ".weight", prefix + ".bias"], "ln", new AttributeProto { Name = "epsilon", F = 1e-12f, Type = 1 });
        }
        string Linear(string x, string prefix, int inDim, int outDim)
        {
            Init(prefix + ".weight", [inDim, outDim], w[prefix + ".weight"]);
            Init(prefix + ".bias", [outDim], w[prefix + ".bias"]);
            return Node("Add", [Node("MatMul", [x, prefix + ".weight"], "mm"), prefix + ".bias"], "linear");
        }

        Init("embeddings.word_embeddings.weight", [vocab, d], w["embeddings.word_embeddings.weight"]);
        Init("embeddings.position_embeddings.weight", [Positions, d], w["embeddings.position_embeddings.weight"]);
        Init("embeddings.token_type_embeddings.weight", [TypeVocab, d], w["embeddings.token_type_embeddings.weight"]);
        Longs("position_ids", [.. Enumerable.Range(0, Positions).Select(i => (long)i)]);
        Longs("split_heads", [0, 0, Heads, headDim]);
        Longs("merge_heads", [0, 0, d]);
        Scalar("sqrt_head_dim", MathF.Sqrt(headDim));
        Scalar("sqrt_two", MathF.Sqrt(2));
        Scalar("one", 1);
        Scalar("half", 0.5f);

        string words = Node("Gather", ["embeddings.word_embeddings.weight", "input_ids"], "words");
        string types = Node("Gather", ["embeddings.token_type_embeddings.weight", "token_type_ids"], "types");
        string positions = Node("Gather", ["embeddings.position_embeddings.weight", "position_ids"], "positions");
        string h = LayerNorm(Node("Add", [Node("Add", [words, types], "sum"), positions], "sum"), "embeddings.LayerNorm");
        var perm = new AttributeProto { Name = "perm", Ints = { 0, 2, 1, 3 }, Type = 7 };
        for (int l = 0; l < Layers; l++)
        {
            string p = $"encoder.layer.{l}.";
            string Heads(string x, long[] order) => Node("Transpose", [Node("Reshape", [x, "split_heads"], "split")], "heads", new AttributeProto { Name = "perm", Ints = { order }, Type = 7 });
            string q = Heads(Linear(h, p + "attention.self.query", d, d), [0, 2, 1, 3]);
            string k = Heads(Linear(h, p + "attention.self.key", d, d), [0, 2, 3, 1]);
            string v = Heads(Linear(h, p + "attention.self.value", d, d), [0, 2, 1, 3]);
            string scores = Node("Div", [Node("MatMul", [q, k], "scores"), "sqrt_head_dim"], "scaled");
            string probs = Node("Softmax", [Node("Add", [scores, "attention_mask_bias"], "masked")], "probs");
            string context = Node("Reshape", [Node("Transpose", [Node("MatMul", [probs, v], "context")], "merged", perm), "merge_heads"], "context2d");
            string attention = LayerNorm(Node("Add", [Linear(context, p + "attention.output.dense", d, d), h], "residual"), p + "attention.output.LayerNorm");
            string inner = Linear(attention, p + "intermediate.dense", d, f);
            string erf = Node("Erf", [Node("Div", [inner, "sqrt_two"], "scaled")], "erf");
            string gelu = Node("Mul", [Node("Mul", [inner, Node("Add", [erf, "one"], "erf1")], "gelu2"), "half"], "gelu");
            h = LayerNorm(Node("Add", [Linear(gelu, p + "output.dense", f, d), attention], "residual"), p + "output.LayerNorm");
        }
        g.Output.Add(new ValueInfoProto { Name = h });
        return new ModelProto { IrVersion = 8, ProducerName = "repshift fuzz", Graph = g, OpsetImport = { new OperatorSetIdProto { Version = 17 } } };
    }
}
