using Microsoft.ML.Tokenizers;

namespace RepShift.Text;

/// <summary>One text turned into model input: ids wrapped in [CLS] … [SEP], and whether it was cut.</summary>
public readonly record struct TokenizedText(int[] Ids, bool Truncated);

/// <summary>
/// WordPiece tokenization with Microsoft.ML.Tokenizers' <see cref="BertTokenizer"/> on a model's
/// vocabulary, plus the truncation rule of sentence-transformers: keep the first maxTokens − 2
/// word pieces, then [SEP], so [SEP] is always last.
/// </summary>
public sealed class BertTextTokenizer
{
    private readonly BertTokenizer _tokenizer;

    // Microsoft.ML.Tokenizers exposes no id → token map, and Decode strips "##", so the vocab lines are kept.
    private readonly string[] _tokens;

    private BertTextTokenizer(BertTokenizer tokenizer, string[] tokens)
    {
        _tokenizer = tokenizer;
        _tokens = tokens;
    }

    /// <summary>Reads a vocab.txt (one token per line, id = line number).</summary>
    public static BertTextTokenizer FromVocab(Stream vocab, bool lowerCase = true, string source = "vocab.txt")
    {
        try
        {
            using var copy = new MemoryStream();
            vocab.CopyTo(copy);
            var tokens = Lines(copy.GetBuffer().AsSpan(0, (int)copy.Length));
            if (tokens.Length == 0) throw new ModelFormatException($"{source}: the vocabulary is empty");
            copy.Position = 0;
            // Uncased BERT strips accents as it lower-cases (Hugging Face's strip_accents follows do_lower_case).
            var tokenizer = BertTokenizer.Create(copy, new BertOptions { LowerCaseBeforeTokenization = lowerCase, RemoveNonSpacingMarks = lowerCase });
            return new BertTextTokenizer(tokenizer, tokens);
        }
        catch (Exception e) when (e is not RepShiftException)
        {
            throw new ModelFormatException($"{source}: not a usable WordPiece vocabulary ({e.Message})", e);
        }
    }

    public int ClsId => _tokenizer.ClassificationTokenId;
    public int SepId => _tokenizer.SeparatorTokenId;
    /// <summary>Number of entries in the vocabulary (largest id + 1).</summary>
    public int VocabularySize => _tokens.Length;

    /// <summary>The vocabulary entry of <paramref name="id"/>: a word piece as the model sees it ("fox", "##s") or a special token ("[CLS]").</summary>
    public string TokenText(int id)
    {
        if ((uint)id >= (uint)_tokens.Length) throw new ArgumentOutOfRangeException(nameof(id), id, $"token id is outside the vocabulary [0, {_tokens.Length})");
        return _tokens[id];
    }

    /// <summary>Tokenizes one text to at most <paramref name="maxTokens"/> ids including [CLS] and [SEP].</summary>
    public TokenizedText Encode(string text, int maxTokens)
    {
        if (maxTokens < 2) throw new ArgumentOutOfRangeException(nameof(maxTokens), maxTokens, "max tokens must be at least 2 ([CLS] and [SEP])");
        ArgumentNullException.ThrowIfNull(text);
        var pieces = _tokenizer.EncodeToIds(text, addSpecialTokens: false);
        int keep = Math.Min(pieces.Count, maxTokens - 2);
        var ids = new int[keep + 2];
        ids[0] = ClsId;
        for (int i = 0; i < keep; i++) ids[i + 1] = pieces[i];
        ids[^1] = SepId;
        return new TokenizedText(ids, keep < pieces.Count);
    }

    /// <summary>vocab.txt's lines (id = line number): split on \n, a final \n ends the last line rather than starting an empty one.</summary>
    private static string[] Lines(ReadOnlySpan<byte> text)
    {
        if (text.StartsWith("\uFEFF"u8)) text = text[3..];
        if (text.IsEmpty) return [];
        if (text[^1] == (byte)'\n') text = text[..^1];
        var lines = System.Text.Encoding.UTF8.GetString(text).Split('\n');
        for (int i = 0; i < lines.Length; i++) lines[i] = lines[i].TrimEnd('\r');
        return lines;
    }
}
