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

    private BertTextTokenizer(BertTokenizer tokenizer, int vocabularySize)
    {
        _tokenizer = tokenizer;
        VocabularySize = vocabularySize;
    }

    /// <summary>Reads a vocab.txt (one token per line, id = line number).</summary>
    public static BertTextTokenizer FromVocab(Stream vocab, bool lowerCase = true, string source = "vocab.txt")
    {
        try
        {
            using var copy = new MemoryStream();
            vocab.CopyTo(copy);
            int lines = CountLines(copy.GetBuffer().AsSpan(0, (int)copy.Length));
            if (lines == 0) throw new ModelFormatException($"{source}: the vocabulary is empty");
            copy.Position = 0;
            // Uncased BERT strips accents as it lower-cases (Hugging Face's strip_accents follows do_lower_case).
            var tokenizer = BertTokenizer.Create(copy, new BertOptions { LowerCaseBeforeTokenization = lowerCase, RemoveNonSpacingMarks = lowerCase });
            return new BertTextTokenizer(tokenizer, lines);
        }
        catch (Exception e) when (e is not RepShiftException)
        {
            throw new ModelFormatException($"{source}: not a usable WordPiece vocabulary ({e.Message})", e);
        }
    }

    public int ClsId => _tokenizer.ClassificationTokenId;
    public int SepId => _tokenizer.SeparatorTokenId;
    /// <summary>Number of entries in the vocabulary (largest id + 1).</summary>
    public int VocabularySize { get; }

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

    private static int CountLines(ReadOnlySpan<byte> text)
    {
        if (text.IsEmpty) return 0;
        int lines = text.Count((byte)'\n');
        return text[^1] == (byte)'\n' ? lines : lines + 1;
    }
}
