using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using RepShift.Loading;

namespace RepShift.Vision;

/// <summary>
/// Hugging Face ViT and DeiT folders: config.json (model_type "vit" or "deit"), model.safetensors with
/// transformers' names (vit.* / deit.*, classifier or cls_classifier + distillation_classifier), and
/// preprocessor_config.json for image_mean / image_std (0.5 when absent, transformers' ViT default).
/// timm checkpoints (patch_embed.proj, blocks.N.attn.qkv, …) are read too when config.json describes them.
/// Linear weights are [out, in] in the files and [in, out] in <see cref="ViTWeights"/>.
/// </summary>
public static class HuggingFaceVit
{
    public const string PreprocessorFile = "preprocessor_config.json";

    /// <summary>One layer's tensor names below its prefix ("vit.encoder.layer.N." or "blocks.N."), shared by reading and writing.</summary>
    private sealed record LayerNames(string Norm1, string Proj, string Norm2, string Fc1, string Fc2);

    private static readonly LayerNames TransformersLayer = new("layernorm_before", "attention.output.dense", "layernorm_after", "intermediate.dense", "output.dense");
    private static readonly LayerNames TimmLayer = new("norm1", "attn.proj", "norm2", "mlp.fc1", "mlp.fc2");

    /// <summary>transformers keeps Q, K and V apart (timm fuses them as attn.qkv).</summary>
    private static readonly string[] TransformersQkv = ["attention.attention.query", "attention.attention.key", "attention.attention.value"];

    public static ViTWeights Load(string folder)
    {
        if (!Directory.Exists(folder)) throw new ModelFormatException($"{folder}: folder not found; expected a ViT model folder with config.json and model.safetensors");
        string configPath = Path.Combine(folder, HuggingFaceFolder.ConfigFile), weightsPath = Path.Combine(folder, HuggingFaceFolder.WeightsFile);
        if (!File.Exists(configPath) || !File.Exists(weightsPath))
            throw new ModelFormatException($"{folder}: not a ViT model folder; config.json and model.safetensors are both needed");
        var config = ReadConfig(folder);
        using var file = SafeTensorsFile.Open(weightsPath);
        var weights = ReadTensors(file, config);
        weights.Validate(weightsPath);
        return weights;
    }

    private static ViTConfig ReadConfig(string folder)
    {
        string path = Path.Combine(folder, HuggingFaceFolder.ConfigFile);
        var root = JsonFile.ReadObject(path);
        string? type = root.OptionalString("model_type", path);
        if (type is not ("vit" or "deit"))
            throw new ModelFormatException($"{path}: model_type \"{type}\" is not a vision transformer; expected \"vit\" or \"deit\"");
        string act = root.OptionalString("hidden_act", path) ?? "gelu";
        if (act != "gelu") throw new ModelFormatException($"{path}: hidden_act \"{act}\" is not supported; ViT layers use the exact erf GELU (\"gelu\")");
        if (root.OptionalBool("qkv_bias", path) == false) throw new ModelFormatException($"{path}: qkv_bias false is not supported");
        // transformers' DeiT always has the distillation token (only the WithTeacher head reads it); timm's says so in the config.
        bool distilled = type == "deit" || root.OptionalBool("distillation_token", path) == true;
        var labels = Labels(root, path);
        int channels = root.OptionalInt("num_channels", path) ?? 3;
        var (mean, std) = Normalization(folder, channels);
        var c = new ViTConfig
        {
            ImageSize = root.OptionalInt("image_size", path) ?? 224,
            PatchSize = root.OptionalInt("patch_size", path) ?? 16,
            Channels = channels,
            Hidden = root.RequiredInt("hidden_size", path),
            Layers = root.RequiredInt("num_hidden_layers", path),
            Heads = root.RequiredInt("num_attention_heads", path),
            Intermediate = root.RequiredInt("intermediate_size", path),
            NumLabels = labels.Length,
            DistillationToken = distilled,
            LayerNormEps = (float)(root.OptionalNumber("layer_norm_eps", path) ?? 1e-12),
            ImageMean = mean,
            ImageStd = std,
            Labels = labels,
        };
        c.Validate(path);
        return c;
    }

    private static string[] Labels(JsonElement root, string path)
    {
        if (root.TryGetProperty("id2label", out var map) && map.ValueKind == JsonValueKind.Object)
        {
            var pairs = new List<(int, string)>();
            foreach (var p in map.EnumerateObject())
            {
                if (!int.TryParse(p.Name, NumberStyles.None, CultureInfo.InvariantCulture, out int i) || p.Value.ValueKind != JsonValueKind.String)
                    throw new ModelFormatException($"{path}: id2label must map class numbers to names, found \"{p.Name}\": {p.Value.GetRawText()}");
                pairs.Add((i, p.Value.GetString()!));
            }
            var names = new string[pairs.Count == 0 ? 0 : pairs.Max(p => p.Item1) + 1];
            foreach (var (i, n) in pairs) names[i] = n;
            return names;
        }
        int count = root.OptionalInt("num_labels", path) ?? 0;
        return [.. Enumerable.Range(0, count).Select(i => $"class {i}")];
    }

    private static (float[] Mean, float[] Std) Normalization(string folder, int channels)
    {
        string path = Path.Combine(folder, PreprocessorFile);
        float[] mean = [.. Enumerable.Repeat(0.5f, channels)], std = [.. Enumerable.Repeat(0.5f, channels)];
        if (!File.Exists(path)) return (mean, std);
        var root = JsonFile.ReadObject(path);
        if (root.OptionalBool("do_normalize", path) == false) return ([.. Enumerable.Repeat(0f, channels)], [.. Enumerable.Repeat(1f, channels)]);
        return (Floats(root, "image_mean", path, channels) ?? mean, Floats(root, "image_std", path, channels) ?? std);
    }

    private static float[]? Floats(JsonElement root, string key, string path, int channels)
    {
        if (!root.TryGetProperty(key, out var a) || a.ValueKind == JsonValueKind.Null) return null;
        if (a.ValueKind == JsonValueKind.Number) return [.. Enumerable.Repeat(a.GetSingle(), channels)];
        if (a.ValueKind != JsonValueKind.Array || a.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.Number))
            throw new ModelFormatException($"{path}: \"{key}\" must be a list of numbers, found {a.GetRawText()}");
        var v = a.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number && e.TryGetSingle(out float x) && float.IsFinite(x) ? x
            : throw new ModelFormatException($"{path}: \"{key}\" must be a list of finite numbers, found {e.GetRawText()}")).ToArray();
        if (v.Length != channels) throw new ModelFormatException($"{path}: \"{key}\" has {v.Length} values, the model has {channels} channel(s)");
        return v;
    }

    private static ViTWeights ReadTensors(SafeTensorsFile file, ViTConfig c)
    {
        // A lower bound of the values the config asks for (2 bytes each at least), checked before any array is
        // sized from it: a corrupt num_hidden_layers must be an error, not a huge allocation.
        double d = c.Hidden, needed = (double)c.Layers * (4 * d * d + 2 * d * c.Intermediate);
        if (needed * 2 > file.DataLength)
            throw new ModelFormatException($"{file.Source}: the config describes {c.Layers} layers of hidden size {c.Hidden} and MLP size {c.Intermediate}, so expected at least {needed * 2:G4} bytes of tensors, but the file holds only {file.DataLength}; the config does not belong to these weights");
        var r = new Reader(file);
        return r.IsTimm ? r.Timm(c) : r.Transformers(c);
    }

    private sealed class Reader(SafeTensorsFile file)
    {
        public bool IsTimm => file.Contains("patch_embed.proj.weight");

        private string Prefix => file.Contains("vit.embeddings.patch_embeddings.projection.weight") ? "vit."
            : file.Contains("deit.embeddings.patch_embeddings.projection.weight") ? "deit." : "";

        public ViTWeights Transformers(ViTConfig c)
        {
            string p = Prefix, e = p + "embeddings.";
            int d = c.Hidden, f = c.Intermediate;
            var layers = new ViTLayerWeights[c.Layers];
            for (int i = 0; i < c.Layers; i++)
            {
                string l = $"{p}encoder.layer.{i}.";
                string[] qkv = [.. TransformersQkv.Select(n => l + n)];
                layers[i] = Layer(l, TransformersLayer, d, f,
                    Kernels.QkvLayout.Fuse(Linear(qkv[0] + ".weight", d, d), Linear(qkv[1] + ".weight", d, d), Linear(qkv[2] + ".weight", d, d), d),
                    [.. Vector(qkv[0] + ".bias", d), .. Vector(qkv[1] + ".bias", d), .. Vector(qkv[2] + ".bias", d)]);
            }
            if (file.Contains($"{p}encoder.layer.{c.Layers}.{TransformersLayer.Norm1}.weight"))
                throw new ModelFormatException($"{file.Source}: the checkpoint has a layer {c.Layers} but config.json says num_hidden_layers {c.Layers}");
            bool teacher = file.Contains("cls_classifier.weight");
            string head = teacher ? "cls_classifier." : "classifier.";
            int k = c.NumLabels;
            return new ViTWeights
            {
                Config = c,
                PatchWeight = Linear(e + "patch_embeddings.projection.weight", c.PatchInput, d),
                PatchBias = Vector(e + "patch_embeddings.projection.bias", d),
                ClsToken = Vector(e + "cls_token", d),
                DistToken = c.DistillationToken ? Vector(e + "distillation_token", d) : [],
                PositionEmbeddings = Positions(e + "position_embeddings", c),
                Layers = layers,
                NormGamma = Vector(p + "layernorm.weight", d),
                NormBeta = Vector(p + "layernorm.bias", d),
                HeadWeight = k > 0 ? Linear(head + "weight", d, k) : [],
                HeadBias = k > 0 ? Vector(head + "bias", k) : [],
                DistHeadWeight = k > 0 && teacher ? Linear("distillation_classifier.weight", d, k) : [],
                DistHeadBias = k > 0 && teacher ? Vector("distillation_classifier.bias", k) : [],
            };
        }

        public ViTWeights Timm(ViTConfig c)
        {
            int d = c.Hidden, f = c.Intermediate, k = c.NumLabels;
            var layers = new ViTLayerWeights[c.Layers];
            for (int i = 0; i < c.Layers; i++)
            {
                string l = $"blocks.{i}.";
                // timm's qkv is one [3D, D] Linear: transposed it is already Q | K | V side by side.
                layers[i] = Layer(l, TimmLayer, d, f, Linear(l + "attn.qkv.weight", d, 3 * d), Vector(l + "attn.qkv.bias", 3 * d));
            }
            return new ViTWeights
            {
                Config = c,
                PatchWeight = Linear("patch_embed.proj.weight", c.PatchInput, d),
                PatchBias = Vector("patch_embed.proj.bias", d),
                ClsToken = Vector("cls_token", d),
                DistToken = c.DistillationToken ? Vector("dist_token", d) : [],
                PositionEmbeddings = Positions("pos_embed", c),
                Layers = layers,
                NormGamma = Vector("norm.weight", d),
                NormBeta = Vector("norm.bias", d),
                HeadWeight = k > 0 ? Linear("head.weight", d, k) : [],
                HeadBias = k > 0 ? Vector("head.bias", k) : [],
                DistHeadWeight = k > 0 && file.Contains("head_dist.weight") ? Linear("head_dist.weight", d, k) : [],
                DistHeadBias = k > 0 && file.Contains("head_dist.weight") ? Vector("head_dist.bias", k) : [],
            };
        }

        private ViTLayerWeights Layer(string l, LayerNames n, int d, int f, float[] qkvWeight, float[] qkvBias) => new()
        {
            Norm1Gamma = Vector($"{l}{n.Norm1}.weight", d),
            Norm1Beta = Vector($"{l}{n.Norm1}.bias", d),
            QkvWeight = qkvWeight,
            QkvBias = qkvBias,
            ProjWeight = Linear($"{l}{n.Proj}.weight", d, d),
            ProjBias = Vector($"{l}{n.Proj}.bias", d),
            Norm2Gamma = Vector($"{l}{n.Norm2}.weight", d),
            Norm2Beta = Vector($"{l}{n.Norm2}.bias", d),
            Fc1Weight = Linear($"{l}{n.Fc1}.weight", d, f),
            Fc1Bias = Vector($"{l}{n.Fc1}.bias", f),
            Fc2Weight = Linear($"{l}{n.Fc2}.weight", f, d),
            Fc2Bias = Vector($"{l}{n.Fc2}.bias", d),
        };

        /// <summary>[special + g·g, D] from the file, interpolated to the config's grid when the file's grid differs.</summary>
        private float[] Positions(string name, ViTConfig c)
        {
            var data = file.ReadFloats(name);
            int d = c.Hidden, special = c.SpecialTokens;
            if (data.Length % d != 0 || data.Length / d <= special) throw Bad(name, $"[1, {c.Tokens}, {d}]");
            int patches = data.Length / d - special, g = (int)Math.Round(Math.Sqrt(patches));
            if (g * g != patches) throw Bad(name, $"[1, {c.Tokens}, {d}] (a square grid of patches)");
            if (g == c.GridSize) return data;
            var grid = PositionInterpolation.Bicubic(data.AsSpan(special * d), g, c.GridSize, d);
            return [.. data.AsSpan(0, special * d), .. grid];
        }

        private float[] Vector(string name, int n)
        {
            var data = file.ReadFloats(name);
            return data.Length == n ? data : throw Bad(name, $"{n} values");
        }

        /// <summary>A PyTorch [out, in] weight (or conv kernel [out, C, p, p]) transposed to [in, out].</summary>
        private float[] Linear(string name, int inputs, int outputs)
        {
            var data = file.ReadFloats(name);
            if (data.Length != inputs * outputs) throw Bad(name, $"[{outputs}, {inputs}]");
            return Kernels.Transpose.Of(data, outputs, inputs);
        }

        private ModelFormatException Bad(string name, string expected) =>
            new($"{file.Source}: tensor '{name}' has shape [{string.Join(", ", file.Shape(name))}], expected {expected} for config.json's sizes");
    }

    /// <summary>Writes <paramref name="w"/> as a transformers ViTForImageClassification folder that <see cref="Load"/> reads back.</summary>
    public static void Save(ViTWeights w, string folder, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var c = w.Config;
        if (c.DistillationToken) throw new RepShiftException("saving DeiT models is not supported");
        Directory.CreateDirectory(folder);
        int d = c.Hidden, f = c.Intermediate, k = c.NumLabels;
        var tensors = new List<(string, int[], float[])>
        {
            ("vit.embeddings.cls_token", [1, 1, d], w.ClsToken),
            ("vit.embeddings.position_embeddings", [1, c.Tokens, d], w.PositionEmbeddings),
            ("vit.embeddings.patch_embeddings.projection.weight", [d, c.Channels, c.PatchSize, c.PatchSize], Kernels.Transpose.Of(w.PatchWeight, c.PatchInput, d)),
            ("vit.embeddings.patch_embeddings.projection.bias", [d], w.PatchBias),
        };
        for (int i = 0; i < c.Layers; i++)
        {
            var l = w.Layers[i];
            string p = $"vit.encoder.layer.{i}.";
            var n = TransformersLayer;
            for (int j = 0; j < 3; j++)
            {
                tensors.Add(($"{p}{TransformersQkv[j]}.weight", [d, d], Kernels.Transpose.Of(Kernels.QkvLayout.Part(l.QkvWeight, d, j), d, d)));
                tensors.Add(($"{p}{TransformersQkv[j]}.bias", [d], l.QkvBias[(j * d)..((j + 1) * d)]));
            }
            tensors.Add(($"{p}{n.Proj}.weight", [d, d], Kernels.Transpose.Of(l.ProjWeight, d, d)));
            tensors.Add(($"{p}{n.Proj}.bias", [d], l.ProjBias));
            tensors.Add(($"{p}{n.Norm1}.weight", [d], l.Norm1Gamma));
            tensors.Add(($"{p}{n.Norm1}.bias", [d], l.Norm1Beta));
            tensors.Add(($"{p}{n.Norm2}.weight", [d], l.Norm2Gamma));
            tensors.Add(($"{p}{n.Norm2}.bias", [d], l.Norm2Beta));
            tensors.Add(($"{p}{n.Fc1}.weight", [f, d], Kernels.Transpose.Of(l.Fc1Weight, d, f)));
            tensors.Add(($"{p}{n.Fc1}.bias", [f], l.Fc1Bias));
            tensors.Add(($"{p}{n.Fc2}.weight", [d, f], Kernels.Transpose.Of(l.Fc2Weight, f, d)));
            tensors.Add(($"{p}{n.Fc2}.bias", [d], l.Fc2Bias));
        }
        tensors.Add(("vit.layernorm.weight", [d], w.NormGamma));
        tensors.Add(("vit.layernorm.bias", [d], w.NormBeta));
        if (k > 0)
        {
            tensors.Add(("classifier.weight", [k, d], Kernels.Transpose.Of(w.HeadWeight, d, k)));
            tensors.Add(("classifier.bias", [k], w.HeadBias));
        }
        SafeTensorsWriter.Write(Path.Combine(folder, HuggingFaceFolder.WeightsFile), tensors, metadata: metadata ?? new Dictionary<string, string> { ["format"] = "pt" });

        var labels = new JsonObject();
        var ids = new JsonObject();
        for (int i = 0; i < k; i++)
        {
            labels[i.ToString(CultureInfo.InvariantCulture)] = c.Label(i);
            ids[c.Label(i)] = i;
        }
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("ViTForImageClassification"),
            ["model_type"] = "vit",
            ["hidden_size"] = d,
            ["num_hidden_layers"] = c.Layers,
            ["num_attention_heads"] = c.Heads,
            ["intermediate_size"] = f,
            ["hidden_act"] = "gelu",
            ["hidden_dropout_prob"] = 0.0,
            ["attention_probs_dropout_prob"] = 0.0,
            ["initializer_range"] = 0.02,
            ["layer_norm_eps"] = c.LayerNormEps,
            ["image_size"] = c.ImageSize,
            ["patch_size"] = c.PatchSize,
            ["num_channels"] = c.Channels,
            ["qkv_bias"] = true,
            ["id2label"] = labels,
            ["label2id"] = ids,
        };
        var options = new JsonSerializerOptions { WriteIndented = true };
        File.WriteAllText(Path.Combine(folder, HuggingFaceFolder.ConfigFile), config.ToJsonString(options) + "\n");
        var pre = new JsonObject
        {
            ["image_processor_type"] = "ViTImageProcessor",
            ["do_resize"] = true,
            ["size"] = new JsonObject { ["height"] = c.ImageSize, ["width"] = c.ImageSize },
            ["do_rescale"] = true,
            ["rescale_factor"] = 1.0 / 255,
            ["do_normalize"] = true,
            ["image_mean"] = new JsonArray([.. c.ImageMean.Select(v => (JsonNode)v)]),
            ["image_std"] = new JsonArray([.. c.ImageStd.Select(v => (JsonNode)v)]),
        };
        File.WriteAllText(Path.Combine(folder, PreprocessorFile), pre.ToJsonString(options) + "\n");
    }
}
