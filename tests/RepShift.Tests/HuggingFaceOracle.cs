using System.Text.Json;
using RepShift.Loading;

namespace RepShift.Tests;

/// <summary>
/// Hugging Face's own `tokenizers` (Rust, through Tokenizers.DotNet) on the embedded model's vocabulary with
/// all-MiniLM-L6-v2's tokenizer.json settings: the reference the pure-C# tokenizer must match id for id.
/// </summary>
internal sealed class HuggingFaceOracle
{
    private static readonly Lazy<HuggingFaceOracle> Shared = new(() => new HuggingFaceOracle());
    private readonly Tokenizers.DotNet.Tokenizer _tokenizer;

    public static HuggingFaceOracle Instance => Shared.Value;

    private HuggingFaceOracle()
    {
        string path = Path.Combine(Path.GetTempPath(), $"repshift-oracle-{Environment.ProcessId}-tokenizer.json");
        File.WriteAllText(path, TokenizerJson(Vocab()));
        try { _tokenizer = new Tokenizers.DotNet.Tokenizer(vocabPath: path); }
        finally { File.Delete(path); }
    }

    public int[] Encode(string text)
    {
        lock (_tokenizer) return Array.ConvertAll(_tokenizer.Encode(text), x => (int)x);
    }

    /// <summary>The embedded vocab.txt's lines (it has \r\n line ends).</summary>
    public static string[] Vocab()
    {
        using var reader = new StreamReader(EmbeddedModel.OpenVocab());
        var lines = new List<string>();
        while (reader.ReadLine() is { } line) lines.Add(line);
        return [.. lines];
    }

    /// <summary>The tokenizer.json that sentence-transformers/all-MiniLM-L6-v2 publishes, around <paramref name="vocab"/>.</summary>
    public static string TokenizerJson(string[] vocab)
    {
        var index = new Dictionary<string, int>();
        for (int i = 0; i < vocab.Length; i++) index[vocab[i]] = i;
        object Special(string token) => new { id = index[token], content = token, single_word = false, lstrip = false, rstrip = false, normalized = false, special = true };
        object Piece(string token) => new { SpecialToken = new { id = token, type_id = 0 } };
        var json = new Dictionary<string, object?>
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Select(Special).ToArray(),
            ["normalizer"] = new { type = "BertNormalizer", clean_text = true, handle_chinese_chars = true, strip_accents = (bool?)null, lowercase = true },
            ["pre_tokenizer"] = new { type = "BertPreTokenizer" },
            ["post_processor"] = new
            {
                type = "TemplateProcessing",
                single = new object[] { Piece("[CLS]"), new { Sequence = new { id = "A", type_id = 0 } }, Piece("[SEP]") },
                pair = new object[] { Piece("[CLS]"), new { Sequence = new { id = "A", type_id = 0 } }, Piece("[SEP]"), new { Sequence = new { id = "B", type_id = 1 } }, Piece("[SEP]") },
                special_tokens = new Dictionary<string, object>
                {
                    ["[CLS]"] = new { id = "[CLS]", ids = new[] { index["[CLS]"] }, tokens = new[] { "[CLS]" } },
                    ["[SEP]"] = new { id = "[SEP]", ids = new[] { index["[SEP]"] }, tokens = new[] { "[SEP]" } },
                },
            },
            ["decoder"] = new { type = "WordPiece", prefix = "##", cleanup = true },
            ["model"] = new { type = "WordPiece", unk_token = "[UNK]", continuing_subword_prefix = "##", max_input_chars_per_word = 100, vocab = index },
        };
        return JsonSerializer.Serialize(json);
    }
}
