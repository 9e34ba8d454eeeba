using System.Text.Json;
using RepShift.Text;

namespace RepShift.Cli.Baselines;

/// <summary>
/// Hugging Face's own `tokenizers` (Rust, through Tokenizers.DotNet) set up like a <see cref="BertTextTokenizer"/>:
/// the same vocabulary and options written as a tokenizer.json. `verify` checks RepShift's ids against it.
/// </summary>
internal sealed class HuggingFaceTokenizerReference
{
    private readonly Tokenizers.DotNet.Tokenizer _tokenizer;

    public HuggingFaceTokenizerReference(BertTextTokenizer tokenizer)
    {
        string path = Path.Combine(Path.GetTempPath(), $"repshift-verify-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, TokenizerJson(tokenizer));
        try { _tokenizer = new Tokenizers.DotNet.Tokenizer(vocabPath: path); }
        catch (Tokenizers.DotNet.TokenizerException e) { throw new RepShiftException($"Hugging Face's tokenizer could not load the vocabulary ({e.Message})"); }
        // The package ships its native library for linux-x64 only here.
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException or TypeInitializationException)
        {
            throw new RepShiftException($"Hugging Face's tokenizer (Tokenizers.DotNet) cannot run on this platform, so verify cannot compare token ids ({e.Message})");
        }
        finally { File.Delete(path); }
    }

    /// <summary>All ids of <paramref name="text"/>, [CLS] … [SEP], untruncated.</summary>
    public int[] Encode(string text) => Array.ConvertAll(_tokenizer.Encode(text), x => (int)x);

    /// <summary>sentence-transformers' truncation: the first <paramref name="maxTokens"/> − 1 ids, then [SEP].</summary>
    public static int[] Truncate(int[] ids, int maxTokens) => ids.Length <= maxTokens ? ids : [.. ids[..(maxTokens - 1)], ids[^1]];

    private static string TokenizerJson(BertTextTokenizer tokenizer)
    {
        var o = tokenizer.Options;
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < tokenizer.VocabularySize; i++) vocab[tokenizer.TokenText(i)] = i;
        object Piece(string token) => new { SpecialToken = new { id = token, type_id = 0 } };
        object Sequence(string id, int type) => new { Sequence = new { id, type_id = type } };
        var json = new Dictionary<string, object?>
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = o.SpecialTokens.Where(vocab.ContainsKey).Distinct()
                .Select(t => new { id = vocab[t], content = t, single_word = false, lstrip = false, rstrip = false, normalized = false, special = true }).ToArray(),
            ["normalizer"] = new { type = "BertNormalizer", clean_text = o.CleanText, handle_chinese_chars = o.HandleChineseChars, strip_accents = o.StripAccents, lowercase = o.Lowercase },
            ["pre_tokenizer"] = new { type = "BertPreTokenizer" },
            ["post_processor"] = new
            {
                type = "TemplateProcessing",
                single = new[] { Piece(o.ClsToken), Sequence("A", 0), Piece(o.SepToken) },
                pair = new[] { Piece(o.ClsToken), Sequence("A", 0), Piece(o.SepToken), Sequence("B", 1), Piece(o.SepToken) },
                special_tokens = new Dictionary<string, object>
                {
                    [o.ClsToken] = new { id = o.ClsToken, ids = new[] { tokenizer.ClsId }, tokens = new[] { o.ClsToken } },
                    [o.SepToken] = new { id = o.SepToken, ids = new[] { tokenizer.SepId }, tokens = new[] { o.SepToken } },
                },
            },
            ["decoder"] = new { type = "WordPiece", prefix = o.ContinuingSubwordPrefix, cleanup = true },
            ["model"] = new { type = "WordPiece", unk_token = o.UnknownToken, continuing_subword_prefix = o.ContinuingSubwordPrefix, max_input_chars_per_word = o.MaxInputCharsPerWord, vocab },
        };
        return JsonSerializer.Serialize(json);
    }
}
