using System.Text;
using System.Text.Json;
using RepShift.Text;

namespace RepShift.Loading;

/// <summary>
/// The WordPiece tokenizer of a Hugging Face BERT folder: vocab.txt when present, otherwise the
/// WordPiece model inside tokenizer.json (its token→id map rewritten as vocab.txt lines in id order).
/// Lowercasing: tokenizer_config.json's do_lower_case when given, else tokenizer.json's normalizer
/// (BertNormalizer "lowercase", default true; a Lowercase step; null means none), else true.
/// </summary>
internal static class HuggingFaceTokenizer
{
    public const string VocabFile = "vocab.txt";
    public const string TokenizerFile = "tokenizer.json";
    public const string TokenizerConfigFile = "tokenizer_config.json";

    public static BertTextTokenizer Load(string folder)
    {
        string vocabPath = Path.Combine(folder, VocabFile);
        string jsonPath = Path.Combine(folder, TokenizerFile);
        string configPath = Path.Combine(folder, TokenizerConfigFile);
        bool? lowerCase = File.Exists(configPath) ? JsonFile.ReadObject(configPath).OptionalBool("do_lower_case", configPath) : null;

        if (File.Exists(vocabPath))
        {
            lowerCase ??= File.Exists(jsonPath) ? LowerCase(JsonFile.ReadObject(jsonPath)) : true;
            using var vocab = OpenRead(vocabPath);
            return BertTextTokenizer.FromVocab(vocab, lowerCase.Value, vocabPath);
        }
        var root = JsonFile.ReadObject(jsonPath);
        lowerCase ??= LowerCase(root);
        using var lines = VocabLines(root, jsonPath);
        return BertTextTokenizer.FromVocab(lines, lowerCase.Value, jsonPath);
    }

    /// <summary>Whether tokenizer.json's normalizer lowercases; an absent normalizer means BERT's default (true).</summary>
    private static bool LowerCase(JsonElement root) =>
        !root.TryGetProperty("normalizer", out var normalizer) || Lowercases(normalizer);

    private static bool Lowercases(JsonElement normalizer)
    {
        if (normalizer.ValueKind != JsonValueKind.Object || !normalizer.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            return false;
        return type.GetString() switch
        {
            "BertNormalizer" => !normalizer.TryGetProperty("lowercase", out var flag) || flag.ValueKind != JsonValueKind.False,
            "Lowercase" => true,
            "Sequence" => normalizer.TryGetProperty("normalizers", out var steps) && steps.ValueKind == JsonValueKind.Array && steps.EnumerateArray().Any(Lowercases),
            _ => false,
        };
    }

    /// <summary>The WordPiece vocabulary as vocab.txt text: line i holds the token with id i.</summary>
    private static MemoryStream VocabLines(JsonElement root, string path)
    {
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException($"{path}: no \"model\" object; expected a WordPiece tokenizer");
        string? type = model.OptionalString("type", path);
        if (type != "WordPiece")
            throw new ModelFormatException($"{path}: tokenizer model type \"{type}\" is not supported; BERT models use \"WordPiece\"");
        string prefix = model.OptionalString("continuing_subword_prefix", path) ?? "##";
        if (prefix != "##")
            throw new ModelFormatException($"{path}: continuing_subword_prefix \"{prefix}\" is not supported; expected \"##\" as in BERT");
        string unknown = model.OptionalString("unk_token", path) ?? "[UNK]";
        if (unknown != "[UNK]")
            throw new ModelFormatException($"{path}: unk_token \"{unknown}\" is not supported; expected \"[UNK]\" as in BERT");
        if (!model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException($"{path}: model.vocab is missing; expected an object mapping each token to its id");

        int count = 0;
        foreach (var _ in vocab.EnumerateObject()) count++;
        var byId = new string?[count];
        foreach (var entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0 || id >= count)
                throw new ModelFormatException($"{path}: token \"{entry.Name}\" has id {entry.Value.GetRawText()}; expected ids 0 to {count - 1} for a vocabulary of {count} tokens, each used once");
            if (byId[id] is { } other)
                throw new ModelFormatException($"{path}: tokens \"{other}\" and \"{entry.Name}\" both have id {id}; each id must be used once");
            if (entry.Name.Length == 0 || entry.Name.AsSpan().IndexOfAny('\n', '\r') >= 0)
                throw new ModelFormatException($"{path}: token {JsonSerializer.Serialize(entry.Name)} (id {id}) is empty or contains a line break, which a WordPiece vocabulary cannot hold");
            byId[id] = entry.Name;
        }
        // count distinct ids in [0, count) were all assigned, so there are no gaps.
        var text = new MemoryStream();
        using (var writer = new StreamWriter(text, new UTF8Encoding(false), leaveOpen: true))
            foreach (string? token in byId) writer.Write(token + "\n");
        text.Position = 0;
        return text;
    }

    private static FileStream OpenRead(string path)
    {
        try { return File.OpenRead(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFormatException($"{path}: cannot read the file ({e.Message})", e);
        }
    }
}
