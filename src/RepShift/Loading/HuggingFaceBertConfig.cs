using System.Text.Json;
using RepShift.Models;

namespace RepShift.Loading;

/// <summary>Reads a Hugging Face config.json of a BERT model into a <see cref="BertConfig"/>, refusing what the encoder cannot run.</summary>
internal static class HuggingFaceBertConfig
{
    /// <summary>
    /// <paramref name="typeVocabSizeGiven"/> is false when config.json has no type_vocab_size; the config
    /// then says 0 and the weights loader may take the size from the checkpoint instead.
    /// </summary>
    public static BertConfig Read(string path, out bool typeVocabSizeGiven)
    {
        var root = JsonFile.ReadObject(path);
        string? modelType = root.OptionalString("model_type", path);
        var architectures = Architectures(root, path);
        bool bertArchitecture = architectures.Exists(a => a.StartsWith("Bert", StringComparison.Ordinal));
        if (!(modelType == "bert" || (modelType is null && bertArchitecture)))
        {
            string found = modelType is null ? "no model_type" : $"model_type \"{modelType}\"";
            if (architectures.Count > 0) found += $" (architectures {string.Join(", ", architectures)})";
            throw new ModelFormatException($"{path}: {found} is not supported; RepShift loads BERT encoders (model_type \"bert\", e.g. all-MiniLM-L6-v2, bge-small-en-v1.5, e5-small-v2)");
        }

        // HF's BERT default is "gelu", the exact erf form, which is the activation the encoder implements.
        string activation = root.OptionalString("hidden_act", path) ?? "gelu";
        if (activation != "gelu")
            throw new ModelFormatException($"{path}: hidden_act \"{activation}\" is not supported; RepShift's BERT layers use the exact erf GELU (hidden_act \"gelu\")");
        string positions = root.OptionalString("position_embedding_type", path) ?? "absolute";
        if (positions != "absolute")
            throw new ModelFormatException($"{path}: position_embedding_type \"{positions}\" is not supported; RepShift implements \"absolute\" position embeddings only");
        if (root.OptionalBool("is_decoder", path) == true)
            throw new ModelFormatException($"{path}: is_decoder is true; RepShift runs BERT as a bidirectional encoder only");

        int? typeVocabSize = root.OptionalInt("type_vocab_size", path);
        typeVocabSizeGiven = typeVocabSize is not null;
        var config = new BertConfig
        {
            VocabSize = root.RequiredInt("vocab_size", path),
            Hidden = root.RequiredInt("hidden_size", path),
            Layers = root.RequiredInt("num_hidden_layers", path),
            Heads = root.RequiredInt("num_attention_heads", path),
            Intermediate = root.RequiredInt("intermediate_size", path),
            MaxPositions = root.RequiredInt("max_position_embeddings", path),
            TypeVocabSize = typeVocabSize ?? 0,
            LayerNormEps = (float)(root.OptionalNumber("layer_norm_eps", path) ?? 1e-12),
        };
        config.Validate(path);
        return config;
    }

    private static List<string> Architectures(JsonElement root, string path)
    {
        var list = new List<string>();
        if (!root.TryGetProperty("architectures", out var a) || a.ValueKind == JsonValueKind.Null) return list;
        if (a.ValueKind != JsonValueKind.Array) throw new ModelFormatException($"{path}: \"architectures\" must be a list of names, found {a.GetRawText()}");
        foreach (var item in a.EnumerateArray())
            if (item.ValueKind == JsonValueKind.String) list.Add(item.GetString()!);
        return list;
    }
}
