using Google.Protobuf;
using RepShift.Loading.Onnx;
using RepShift.Loading.Onnx.Proto;
using RepShift.Models;

namespace RepShift.Loading;

/// <summary>
/// Reads a BERT-family encoder exported from PyTorch to ONNX. Most weight initialisers of such exports
/// are anonymous (numbers, <c>onnx::MatMul_…</c>), so nothing is looked up by name: the importer walks
/// the graph from <c>input_ids</c> — embedding Gathers, LayerNorm, then per layer the Q/K/V projections
/// (told apart by where they enter the score and context MatMuls), attention output, FFN with erf-GELU
/// and the two LayerNorms — and checks every shape on the way. Anything else fails with a message that
/// says what was expected and what was found.
/// </summary>
public static class OnnxBertImporter
{
    /// <summary>Ops a projection's output may pass through before it meets Q·Kᵀ or P·V.</summary>
    private static readonly HashSet<string> ShapeOps = ["Reshape", "Transpose", "Div", "Mul", "Unsqueeze", "Squeeze", "Identity"];

    public static BertWeights Import(Stream onnx, string source)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(onnx);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ModelFormatException($"{source}: not a valid ONNX file ({e.Message}); the file may be truncated or corrupt", e);
        }
        if (model.Graph == null || model.Graph.Node.Count == 0)
            throw new ModelFormatException($"{source}: the ONNX file holds no graph; the file may be truncated or corrupt");
        return new Walker(new OnnxGraph(model.Graph, source)).Run();
    }

    private sealed class Walker(OnnxGraph g)
    {
        private int _hidden;

        public BertWeights Run()
        {
            string idsInput = g.Graph.Input.FirstOrDefault(i => i.Name == "input_ids")?.Name
                ?? throw g.Error($"expected a graph input named 'input_ids' (a BERT encoder); found inputs: {string.Join(", ", g.Graph.Input.Select(i => i.Name))}");
            var word = EmbeddingGather(idsInput) ?? throw g.Error($"expected a Gather from an embedding table by input_ids; {g.Describe(idsInput)}");
            var wordShape = g.Shape(word.Input.At(0));
            _hidden = g.Dim(wordShape[1], "the word embedding width");
            var typeInput = g.Graph.Input.FirstOrDefault(i => i.Name == "token_type_ids")?.Name;
            var type = typeInput == null ? null : EmbeddingGather(typeInput);

            // The embedding sum: follow Adds from the word lookup; the other Gather of a [P, D] table is the position embedding.
            string sum = word.Output.At(0);
            NodeProto? position = null;
            LayerNormPattern? embNorm;
            while ((embNorm = LayerNormPattern.Match(g, sum)) == null)
            {
                g.Step();
                var add = g.Consumers(sum) is [{ OpType: "Add" } a] ? a : throw g.Error($"expected the embedding sum to reach a LayerNorm; {g.Describe(sum)}");
                string other = add.Input.At(0) == sum ? add.Input.At(1) : add.Input.At(0);
                if (g.Producer(other) is { OpType: "Gather" } gather && gather != type && g.IsInitializer(gather.Input.At(0))) position = gather;
                sum = add.Output.At(0);
            }
            if (position == null) throw g.Error("expected a position-embedding Gather added to the word embeddings; found none");
            var posShape = g.Shape(position.Input.At(0));
            if (posShape.Length != 2 || posShape[1] != _hidden) throw g.Error($"position embedding has shape [{string.Join(", ", posShape)}], expected [positions, {_hidden}]");
            var typeShape = type == null ? null : g.Shape(type.Input.At(0));

            var layers = new List<BertLayerWeights>();
            string h = embNorm.Output;
            int heads = 0, intermediate = 0;
            float eps = embNorm.Eps;
            while (Projections(h) is { Count: > 0 } projections)
            {
                g.Step();
                var (layer, layerHeads, layerIntermediate, output, layerEps) = Layer(layers.Count, h, projections);
                if (heads != 0 && (layerHeads != heads || layerIntermediate != intermediate))
                    throw g.Error($"layer {layers.Count} has {layerHeads} heads and FFN size {layerIntermediate}, earlier layers {heads} and {intermediate}");
                heads = layerHeads;
                intermediate = layerIntermediate;
                if (layerEps != eps) throw g.Error($"layer {layers.Count} uses LayerNorm eps {layerEps}, the embeddings {eps}; mixed eps is not supported");
                layers.Add(layer);
                h = output;
            }
            if (layers.Count == 0) throw g.Error($"expected the Q, K and V projections of encoder layer 0 after the embedding LayerNorm; {g.Describe(h)}");

            var config = new BertConfig
            {
                VocabSize = g.Dim(wordShape[0], "the vocabulary size (rows of the word embedding)"),
                Hidden = _hidden,
                Layers = layers.Count,
                Heads = heads,
                Intermediate = intermediate,
                MaxPositions = g.Dim(posShape[0], "the number of positions"),
                TypeVocabSize = typeShape == null ? 0 : g.Dim(typeShape[0], "the number of token types"),
                LayerNormEps = eps,
            };
            var weights = new BertWeights
            {
                Config = config,
                WordEmbeddings = g.Floats(word.Input.At(0), wordShape),
                PositionEmbeddings = g.Floats(position.Input.At(0), posShape),
                TokenTypeEmbeddings = type == null ? [] : g.Floats(type.Input.At(0), typeShape!),
                EmbeddingNormGamma = g.Floats(embNorm.Gamma, _hidden),
                EmbeddingNormBeta = g.Floats(embNorm.Beta, _hidden),
                Layers = [.. layers],
            };
            weights.Validate(g.Source);
            return weights;
        }

        private NodeProto? EmbeddingGather(string indices) =>
            g.Consumers(indices).FirstOrDefault(n => n.OpType == "Gather" && n.Input.Count == 2 && n.Input.At(1) == indices
                && g.IsInitializer(n.Input.At(0)) && g.Shape(n.Input.At(0)).Length == 2);

        /// <summary>MatMuls of <paramref name="x"/> by a [D, D] initializer: the Q, K, V projections of the next layer.</summary>
        private List<NodeProto> Projections(string x) =>
            [.. g.Consumers(x).Where(n => n.OpType == "MatMul" && n.Input.At(0) == x && g.IsInitializer(n.Input.At(1)) && g.Shape(n.Input.At(1)) is [var r, var c] && r == _hidden && c == _hidden)];

        private (BertLayerWeights Layer, int Heads, int Intermediate, string Output, float Eps) Layer(int index, string h, List<NodeProto> projections)
        {
            string at = $"layer {index}";
            if (projections.Count != 3) throw g.Error($"{at}: expected 3 projections (Q, K, V) of the layer input, found {projections.Count}");
            var linear = projections.Select(p => Linear(at, p, _hidden)).ToList();

            // Q enters Q·Kᵀ first and K second; V enters softmax(·)·V second.
            var entries = linear.Select(l => FollowToMatMul(l.Output)).ToList();
            int q = -1, k = -1, v = -1;
            NodeProto? score = null, context = null;
            double scale = 1;
            for (int i = 0; i < 3; i++)
            {
                var (mm, slot, factor) = entries[i] ?? throw g.Error($"{at}: projection {projections[i].Name} does not reach an attention MatMul; {g.Describe(linear[i].Output)}");
                scale *= factor;
                if (g.Producer(mm.Input.At(0)) is { OpType: "Softmax" }) { v = i; context = mm; }
                else if (slot == 0) { q = i; score = mm; }
                else { k = i; }
            }
            if (q < 0 || k < 0 || v < 0 || score == null || context == null || entries[k]!.Value.MatMul != score)
                throw g.Error($"{at}: could not tell Q, K and V apart: expected Q·Kᵀ → softmax → ·V");
            int headDim = HeadDim(at, linear[q].Output);
            scale *= ScoreScale(at, score);
            if (Math.Abs(scale * Math.Sqrt(headDim) - 1) > 1e-4)
                throw g.Error($"{at}: attention scores are scaled by {scale}, expected 1/√{headDim}; other scalings are not supported");

            // Context → Transpose/Reshape → attention output dense → + residual h → LayerNorm.
            string ctx = context.Output.At(0);
            NodeProto? outMatMul;
            while ((outMatMul = g.Consumers(ctx).FirstOrDefault(n => n.OpType == "MatMul" && g.IsInitializer(n.Input.At(1)))) == null)
            {
                g.Step();
                ctx = g.Consumers(ctx).FirstOrDefault(n => n.OpType is "Transpose" or "Reshape")?.Output.At(0)
                    ?? throw g.Error($"{at}: expected the attention context to reach the output projection; {g.Describe(ctx)}");
            }
            var attnOut = Linear(at, outMatMul, _hidden);
            var attnNorm = Residual(at, attnOut.Output, h, "attention");

            // FFN: dense → GELU (erf form) → dense → + residual → LayerNorm.
            var ffnInMatMul = g.Consumers(attnNorm.Output).FirstOrDefault(n => n.OpType == "MatMul" && g.IsInitializer(n.Input.At(1)))
                ?? throw g.Error($"{at}: expected the FFN input projection after the attention LayerNorm; {g.Describe(attnNorm.Output)}");
            var ffnShape = g.Shape(ffnInMatMul.Input.At(1));
            if (ffnShape.Length != 2 || ffnShape[0] != _hidden) throw g.Error($"{at}: FFN input weight has shape [{string.Join(", ", ffnShape)}], expected [{_hidden}, intermediate]");
            int f = g.Dim(ffnShape[1], $"{at}: the FFN width");
            var ffnIn = Linear(at, ffnInMatMul, f);
            var ffnOutMatMul = Gelu(at, ffnIn.Output);
            var ffnOut = Linear(at, ffnOutMatMul, _hidden);
            var outNorm = Residual(at, ffnOut.Output, attnNorm.Output, "output");

            int d = _hidden;
            var layer = new BertLayerWeights
            {
                QkvWeight = Kernels.QkvLayout.Fuse(g.Floats(linear[q].Weight, d, d), g.Floats(linear[k].Weight, d, d), g.Floats(linear[v].Weight, d, d), d),
                QkvBias = [.. g.Floats(linear[q].Bias, d), .. g.Floats(linear[k].Bias, d), .. g.Floats(linear[v].Bias, d)],
                AttentionOutputWeight = g.Floats(attnOut.Weight, d, d),
                AttentionOutputBias = g.Floats(attnOut.Bias, d),
                AttentionNormGamma = g.Floats(attnNorm.Gamma, d),
                AttentionNormBeta = g.Floats(attnNorm.Beta, d),
                IntermediateWeight = g.Floats(ffnIn.Weight, d, f),
                IntermediateBias = g.Floats(ffnIn.Bias, f),
                OutputWeight = g.Floats(ffnOut.Weight, f, d),
                OutputBias = g.Floats(ffnOut.Bias, d),
                OutputNormGamma = g.Floats(outNorm.Gamma, d),
                OutputNormBeta = g.Floats(outNorm.Beta, d),
            };
            if (attnNorm.Eps != outNorm.Eps) throw g.Error($"{at}: the two LayerNorms use different eps ({attnNorm.Eps}, {outNorm.Eps})");
            return (layer, d / headDim, f, outNorm.Output, attnNorm.Eps);
        }

        /// <summary>A MatMul by an initializer followed by an Add of a bias initializer of <paramref name="outFeatures"/> values.</summary>
        private (string Weight, string Bias, string Output) Linear(string at, NodeProto matMul, int outFeatures)
        {
            var shape = g.Shape(matMul.Input.At(1));
            if (shape.Length != 2 || shape[1] != outFeatures) throw g.Error($"{at}: weight '{matMul.Input.At(1)}' of {matMul.Name} has shape [{string.Join(", ", shape)}], expected [in, {outFeatures}]");
            var add = g.Consumers(matMul.Output.At(0)) is [{ OpType: "Add" } a] ? a : throw g.Error($"{at}: expected a bias Add after {matMul.Name}; {g.Describe(matMul.Output.At(0))}");
            string bias = g.SplitConstant(add)?.Constant ?? throw g.Error($"{at}: the Add after {matMul.Name} does not add a constant bias");
            return (matMul.Input.At(1), bias, add.Output.At(0));
        }

        /// <summary>Follows reshapes and constant scalings to the MatMul a projection enters; returns it, the input slot and the product of scalings.</summary>
        private (NodeProto MatMul, int Slot, double Factor)? FollowToMatMul(string tensor)
        {
            double factor = 1;
            for (int depth = 0; depth < 8; depth++)
            {
                var consumers = g.Consumers(tensor).Where(n => n.OpType != "Shape").ToList();
                if (consumers is not [var n]) return null;
                if (n.OpType == "MatMul" && !g.IsInitializer(n.Input.At(1))) return (n, n.Input.At(0) == tensor ? 0 : 1, factor);
                if (!ShapeOps.Contains(n.OpType)) return null;
                if (n.OpType is "Div" or "Mul")
                {
                    double c = g.SplitConstant(n) is { } s ? g.Scalar(s.Constant) ?? double.NaN : double.NaN;
                    factor *= n.OpType == "Mul" ? c : 1 / c;
                }
                tensor = n.Output.At(0);
            }
            return null;
        }

        /// <summary>The scaling applied to Q·Kᵀ before the mask Add and softmax.</summary>
        private double ScoreScale(string at, NodeProto score)
        {
            double factor = 1;
            string t = score.Output.At(0);
            while (true)
            {
                g.Step();
                var n = g.Consumers(t) is [var only] ? only : throw g.Error($"{at}: expected the attention scores to reach a Softmax; {g.Describe(t)}");
                if (n.OpType == "Softmax") return factor;
                if (n.OpType is "Div" or "Mul" && g.SplitConstant(n) is { } s && g.Scalar(s.Constant) is { } c)
                    factor *= n.OpType == "Mul" ? c : 1 / c;
                else if (n.OpType != "Add") throw g.Error($"{at}: unexpected {n.OpType} {n.Name} between Q·Kᵀ and the softmax");
                t = n.Output.At(0);
            }
        }

        /// <summary>Head size from the Reshape that splits Q into heads ([batch, seq, heads, headDim]).</summary>
        private int HeadDim(string at, string q)
        {
            var reshape = g.Consumers(q).FirstOrDefault(n => n.OpType == "Reshape")
                ?? throw g.Error($"{at}: expected a Reshape splitting Q into heads; {g.Describe(q)}");
            string shape = reshape.Input.At(1);
            double[]? dims = g.Constant(shape);
            if (dims == null && g.Producer(shape) is { OpType: "Concat" } concat)
                dims = [.. concat.Input.Select(i => g.Scalar(i) ?? -1)];
            if (dims is not { Length: 4 } || dims[2] <= 0 || dims[3] <= 0 || dims[2] % 1 != 0 || dims[3] % 1 != 0 || dims[2] * dims[3] != _hidden)
                throw g.Error($"{at}: could not read heads × head dim from the Reshape of Q (found [{string.Join(", ", dims ?? [])}], expected [batch, seq, heads, headDim] with heads × headDim = {_hidden})");
            return (int)dims[3];
        }

        /// <summary>Bias output + residual → LayerNorm.</summary>
        private LayerNormPattern Residual(string at, string branch, string residual, string which)
        {
            var add = g.Consumers(branch).FirstOrDefault(n => n.OpType == "Add" && n.Input.Contains(residual))
                ?? throw g.Error($"{at}: expected the {which} branch to be added to the residual '{residual}'; {g.Describe(branch)}");
            return LayerNormPattern.Match(g, add.Output.At(0)) ?? throw g.Error($"{at}: expected a LayerNorm after the {which} residual Add; {g.Describe(add.Output.At(0))}");
        }

        /// <summary>Checks the FFN activation is GELU in erf form, x·½(1 + erf(x/√2)), and returns the FFN output MatMul behind it.</summary>
        private NodeProto Gelu(string at, string x)
        {
            var div = g.Consumers(x).FirstOrDefault(n => n.OpType == "Div" && n.Input.At(0) == x);
            var erf = div == null ? null : g.Consumers(div.Output.At(0)).FirstOrDefault(n => n.OpType == "Erf");
            if (div == null || erf == null || g.SplitConstant(div) is not { } s || Math.Abs((g.Scalar(s.Constant) ?? 0) - Math.Sqrt(2)) > 1e-4)
                throw g.Error($"{at}: expected GELU in erf form (Div by √2, Erf) after the FFN input projection; {g.Describe(x)}. Other activations are not supported");
            // Walk Add 1, Mul x, Mul ½ to the output projection.
            string t = erf.Output.At(0);
            for (int depth = 0; depth < 4; depth++)
            {
                var n = g.Consumers(t) is [var only] ? only : throw g.Error($"{at}: unexpected fan-out in GELU at '{t}'");
                if (n.OpType == "MatMul" && g.IsInitializer(n.Input.At(1))) return n;
                if (n.OpType is not ("Add" or "Mul")) throw g.Error($"{at}: unexpected {n.OpType} {n.Name} inside GELU");
                t = n.Output.At(0);
            }
            throw g.Error($"{at}: expected the FFN output projection after GELU; {g.Describe(t)}");
        }
    }
}
