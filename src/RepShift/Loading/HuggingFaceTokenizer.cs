using System.Text.Json;
using RepShift.Text;

namespace RepShift.Loading;

/// <summary>
/// The BERT tokenizer of a Hugging Face folder. tokenizer.json when present (BertNormalizer flags, WordPiece
/// vocab, unknown token, continuing prefix, max_input_chars_per_word, special added_tokens, the
/// post-processor's [CLS]/[SEP]); vocab.txt otherwise. tokenizer_config.json's do_lower_case, strip_accents
/// and tokenize_chinese_chars override either, as transformers' BertTokenizerFast does when it loads a folder.
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

        BertTokenizerOptions options;
        string[]? tokens = null;
        if (File.Exists(jsonPath))
        {
            var root = JsonFile.ReadObject(jsonPath);
            (options, tokens) = FromTokenizerJson(root, jsonPath);
        }
        else options = new BertTokenizerOptions();

        if (File.Exists(configPath))
        {
            var config = JsonFile.ReadObject(configPath);
            bool? lower = config.OptionalBool("do_lower_case", configPath);
            bool? chinese = config.OptionalBool("tokenize_chinese_chars", configPath);
            options = options with
            {
                Lowercase = lower ?? options.Lowercase,
                HandleChineseChars = chinese ?? options.HandleChineseChars,
                StripAccents = config.TryGetProperty("strip_accents", out _) ? config.OptionalBool("strip_accents", configPath) : options.StripAccents,
            };
        }

        if (tokens != null) return BertTextTokenizer.FromTokens(tokens, options, jsonPath);
        using var vocab = OpenRead(vocabPath);
        return BertTextTokenizer.FromVocab(vocab, options, vocabPath);
    }

    private static (BertTokenizerOptions, string[]) FromTokenizerJson(JsonElement root, string path)
    {
        var options = new BertTokenizerOptions();
        if (root.TryGetProperty("normalizer", out var normalizer) && normalizer.ValueKind == JsonValueKind.Object)
        {
            string? type = normalizer.OptionalString("type", path);
            if (type != "BertNormalizer")
                throw new ModelFormatException($"{path}: normalizer type \"{type}\" is not supported; BERT models use \"BertNormalizer\"");
            options = options with
            {
                CleanText = normalizer.OptionalBool("clean_text", path) ?? true,
                HandleChineseChars = normalizer.OptionalBool("handle_chinese_chars", path) ?? true,
                StripAccents = normalizer.OptionalBool("strip_accents", path),
                Lowercase = normalizer.OptionalBool("lowercase", path) ?? true,
            };
        }
        else if (root.TryGetProperty("normalizer", out normalizer) && normalizer.ValueKind == JsonValueKind.Null)
            options = options with { CleanText = false, HandleChineseChars = false, StripAccents = false, Lowercase = false };
        if (root.TryGetProperty("pre_tokenizer", out var pre) && pre.ValueKind == JsonValueKind.Object && pre.OptionalString("type", path) is { } preType && preType != "BertPreTokenizer")
            throw new ModelFormatException($"{path}: pre_tokenizer type \"{preType}\" is not supported; BERT models use \"BertPreTokenizer\"");

        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException($"{path}: no \"model\" object; expected a WordPiece tokenizer");
        string? modelType = model.OptionalString("type", path);
        if (modelType != "WordPiece")
            throw new ModelFormatException($"{path}: tokenizer model type \"{modelType}\" is not supported; BERT models use \"WordPiece\"");
        options = options with
        {
            UnknownToken = model.OptionalString("unk_token", path) ?? "[UNK]",
            ContinuingSubwordPrefix = model.OptionalString("continuing_subword_prefix", path) ?? "##",
            MaxInputCharsPerWord = model.OptionalInt("max_input_chars_per_word", path) ?? 100,
        };
        var (cls, sep) = SpecialPair(root, path);
        options = options with { ClsToken = cls, SepToken = sep, SpecialTokens = SpecialAddedTokens(root, path) };
        return (options, Vocabulary(model, path));
    }

    /// <summary>The post-processor's [CLS] and [SEP] (BertProcessing or a TemplateProcessing "[CLS] $A [SEP]"); BERT's names otherwise.</summary>
    private static (string Cls, string Sep) SpecialPair(JsonElement root, string path)
    {
        if (!root.TryGetProperty("post_processor", out var post) || post.ValueKind != JsonValueKind.Object) return ("[CLS]", "[SEP]");
        switch (post.OptionalString("type", path))
        {
            case "BertProcessing":
                return (PairName(post, "cls") ?? "[CLS]", PairName(post, "sep") ?? "[SEP]");
            case "TemplateProcessing" when post.TryGetProperty("single", out var single) && single.ValueKind == JsonValueKind.Array:
                var pieces = single.EnumerateArray().ToList();
                if (pieces.Count == 3 && SpecialId(pieces[0]) is { } first && pieces[1].TryGetProperty("Sequence", out _) && SpecialId(pieces[2]) is { } last)
                    return (first, last);
                throw new ModelFormatException($"{path}: post_processor.single is not \"[CLS] $A [SEP]\"; only BERT's single-sequence template is supported");
            default:
                throw new ModelFormatException($"{path}: post_processor type \"{post.OptionalString("type", path)}\" is not supported; BERT models use \"BertProcessing\" or \"TemplateProcessing\"");
        }
    }

    private static string? PairName(JsonElement post, string key) =>
        post.TryGetProperty(key, out var pair) && pair.ValueKind == JsonValueKind.Array && pair.GetArrayLength() > 0 && pair[0].ValueKind == JsonValueKind.String ? pair[0].GetString() : null;

    private static string? SpecialId(JsonElement piece) =>
        piece.ValueKind == JsonValueKind.Object && piece.TryGetProperty("SpecialToken", out var special) && special.ValueKind == JsonValueKind.Object
            && special.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null;

    /// <summary>added_tokens marked special: matched in the raw text before normalization. None listed means BERT's five.</summary>
    private static IReadOnlyList<string> SpecialAddedTokens(JsonElement root, string path)
    {
        if (!root.TryGetProperty("added_tokens", out var added) || added.ValueKind != JsonValueKind.Array) return new BertTokenizerOptions().SpecialTokens;
        var special = new List<string>();
        foreach (var token in added.EnumerateArray())
        {
            if (token.ValueKind != JsonValueKind.Object) throw new ModelFormatException($"{path}: added_tokens holds {token.GetRawText()}; expected objects");
            if (token.OptionalBool("normalized", path) == true)
                throw new ModelFormatException($"{path}: added token {token.GetRawText()} is matched after normalization, which is not supported");
            if (token.OptionalString("content", path) is { } content) special.Add(content);
        }
        return special;
    }

    /// <summary>model.vocab as an id-ordered token list: ids 0 … count − 1, each used once.</summary>
    private static string[] Vocabulary(JsonElement model, string path)
    {
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
            byId[id] = entry.Name;
        }
        // count distinct ids in [0, count) were all assigned, so there are no gaps.
        return [.. byId.Select(t => t!)];
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
