using System.Text;

namespace RepShift.Text;

/// <summary>One text turned into model input: ids wrapped in [CLS] … [SEP], and whether it was cut.</summary>
public readonly record struct TokenizedText(int[] Ids, bool Truncated);

/// <summary>Where a token came from: UTF-16 indexes [Start, End) into the original text; (0, 0) for [CLS] and [SEP].</summary>
public readonly record struct TokenOffset(int Start, int End);

/// <summary>Ids as <see cref="TokenizedText"/> gives them, with each token's span in the original text.</summary>
public readonly record struct TokenizedTextWithOffsets(int[] Ids, TokenOffset[] Offsets, bool Truncated);

/// <summary>
/// Hugging Face's BERT tokenizer in pure C#, id for id with its `tokenizers` library: special tokens matched
/// in the raw text, BertNormalizer, BertPreTokenizer, WordPiece, then [CLS] … [SEP] with sentence-transformers'
/// truncation (keep the first maxTokens − 2 word pieces, so [SEP] is always last).
/// </summary>
public sealed class BertTextTokenizer
{
    private readonly string[] _tokens;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly BertTokenizerOptions _options;
    private readonly (string Text, int Id)[] _special;
    private readonly int _unknownId;

    private BertTextTokenizer(string[] tokens, BertTokenizerOptions options, string source)
    {
        if (tokens.Length == 0) throw new ModelFormatException($"{source}: the vocabulary is empty");
        var index = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        // A token listed twice keeps its last id, as Hugging Face's vocab reader does.
        for (int i = 0; i < tokens.Length; i++) index[tokens[i]] = i;
        int Required(string token, string role) => index.TryGetValue(token, out int id) ? id
            : throw new ModelFormatException($"{source}: the {role} token \"{token}\" is not in the vocabulary");
        _unknownId = Required(options.UnknownToken, "unknown");
        ClsId = Required(options.ClsToken, "classification");
        SepId = Required(options.SepToken, "separator");
        if (options.MaxInputCharsPerWord < 1) throw new ModelFormatException($"{source}: max_input_chars_per_word is {options.MaxInputCharsPerWord}; expected at least 1");
        _special = [.. options.SpecialTokens.Where(t => t.Length > 0 && index.ContainsKey(t)).Distinct().Select(t => (t, index[t]))];
        _tokens = tokens;
        _options = options;
        _lookup = index.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Reads a vocab.txt (one token per line, id = line number); uncased BERT strips accents as it lower-cases.</summary>
    public static BertTextTokenizer FromVocab(Stream vocab, bool lowerCase = true, string source = "vocab.txt") =>
        FromVocab(vocab, new BertTokenizerOptions { Lowercase = lowerCase }, source);

    public static BertTextTokenizer FromVocab(Stream vocab, BertTokenizerOptions options, string source = "vocab.txt")
    {
        string[] tokens;
        try
        {
            using var copy = new MemoryStream();
            vocab.CopyTo(copy);
            tokens = Lines(copy.GetBuffer().AsSpan(0, (int)copy.Length));
        }
        catch (Exception e) when (e is IOException or DecoderFallbackException)
        {
            throw new ModelFormatException($"{source}: not a usable WordPiece vocabulary ({e.Message})", e);
        }
        return new BertTextTokenizer(tokens, options, source);
    }

    /// <summary>A tokenizer over <paramref name="tokens"/> (id = index), e.g. tokenizer.json's vocab.</summary>
    public static BertTextTokenizer FromTokens(IReadOnlyList<string> tokens, BertTokenizerOptions options, string source) =>
        new([.. tokens], options, source);

    public BertTokenizerOptions Options => _options;
    public int ClsId { get; }
    public int SepId { get; }
    /// <summary>Number of entries in the vocabulary (largest id + 1).</summary>
    public int VocabularySize => _tokens.Length;

    /// <summary>The vocabulary entry of <paramref name="id"/>: a word piece as the model sees it ("fox", "##s") or a special token ("[CLS]").</summary>
    public string TokenText(int id)
    {
        if ((uint)id >= (uint)_tokens.Length) throw new ArgumentOutOfRangeException(nameof(id), id, $"token id is outside the vocabulary [0, {_tokens.Length})");
        return _tokens[id];
    }

    /// <summary>
    /// The word pieces of <paramref name="text"/> without [CLS]/[SEP] (e.g. a prompt, to put before texts with
    /// <see cref="Encode(string, int, int[])"/>).
    /// </summary>
    public int[] WordPieces(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var pieces = new List<(int Id, TokenOffset Offset)>();
        Pieces(text, pieces, int.MaxValue);
        return [.. pieces.Select(p => p.Id)];
    }

    /// <summary>
    /// [CLS] <paramref name="prefix"/> text [SEP], at most <paramref name="maxTokens"/> ids: the prompt's pieces
    /// come first and the text's are cut first, as sentence-transformers tokenizes prompt + text (a prompt ends at a
    /// word boundary, so its pieces are the same alone). Truncated is set when the text lost pieces.
    /// </summary>
    public TokenizedText Encode(string text, int maxTokens, int[] prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (prefix.Length == 0) return Encode(text, maxTokens);
        if (maxTokens < 2) throw new ArgumentOutOfRangeException(nameof(maxTokens), maxTokens, "max tokens must be at least 2 ([CLS] and [SEP])");
        ArgumentNullException.ThrowIfNull(text);
        var pieces = new List<(int Id, TokenOffset Offset)>();
        Pieces(text, pieces, int.MaxValue);
        int keepPrefix = Math.Min(prefix.Length, maxTokens - 2);
        int keep = Math.Min(pieces.Count, maxTokens - 2 - keepPrefix);
        var ids = new int[keepPrefix + keep + 2];
        ids[0] = ClsId;
        prefix.AsSpan(0, keepPrefix).CopyTo(ids.AsSpan(1));
        for (int i = 0; i < keep; i++) ids[1 + keepPrefix + i] = pieces[i].Id;
        ids[^1] = SepId;
        return new TokenizedText(ids, keep < pieces.Count);
    }

    /// <summary>Tokenizes one text to at most <paramref name="maxTokens"/> ids including [CLS] and [SEP].</summary>
    public TokenizedText Encode(string text, int maxTokens)
    {
        var t = EncodeWithOffsets(text, maxTokens);
        return new TokenizedText(t.Ids, t.Truncated);
    }

    /// <summary><see cref="Encode(string, int)"/> with each token's span in <paramref name="text"/>.</summary>
    public TokenizedTextWithOffsets EncodeWithOffsets(string text, int maxTokens)
    {
        if (maxTokens < 2) throw new ArgumentOutOfRangeException(nameof(maxTokens), maxTokens, "max tokens must be at least 2 ([CLS] and [SEP])");
        ArgumentNullException.ThrowIfNull(text);
        var pieces = new List<(int Id, TokenOffset Offset)>();
        Pieces(text, pieces, int.MaxValue);
        int keep = Math.Min(pieces.Count, maxTokens - 2);
        var ids = new int[keep + 2];
        var offsets = new TokenOffset[keep + 2];
        ids[0] = ClsId;
        for (int i = 0; i < keep; i++) (ids[i + 1], offsets[i + 1]) = pieces[i];
        ids[^1] = SepId;
        return new TokenizedTextWithOffsets(ids, offsets, keep < pieces.Count);
    }

    /// <summary>
    /// Whether <paramref name="text"/> yields at least one token besides [CLS] and [SEP]. A text without any
    /// (empty, whitespace, or only characters the normalizer drops, such as control characters) has nothing
    /// to embed: every such text would get the same vector.
    /// </summary>
    public bool HasWordPieces(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var pieces = new List<(int, TokenOffset)>(1);
        Pieces(text, pieces, 1);
        return pieces.Count > 0;
    }

    /// <summary>The word pieces of <paramref name="text"/> (no [CLS]/[SEP]), stopping once <paramref name="limit"/> are found.</summary>
    private void Pieces(string text, List<(int Id, TokenOffset Offset)> output, int limit)
    {
        var normalized = new List<SourcedChar>();
        int from = 0;
        while (from < text.Length && output.Count < limit)
        {
            var (at, length, id) = NextSpecial(text, from);
            normalized.Clear();
            BertNormalizer.Normalize(text, from, at, _options, normalized);
            Words(normalized, output, limit);
            if (length > 0 && output.Count < limit) output.Add((id, new TokenOffset(at, at + length)));
            from = at + length;
        }
    }

    /// <summary>The leftmost special token at or after <paramref name="from"/> (the longest among those starting there), or the text's end.</summary>
    private (int At, int Length, int Id) NextSpecial(string text, int from)
    {
        (int At, int Length, int Id) best = (text.Length, 0, -1);
        foreach (var (token, id) in _special)
        {
            int at = text.IndexOf(token, from, StringComparison.Ordinal);
            if (at >= 0 && (at < best.At || at == best.At && token.Length > best.Length)) best = (at, token.Length, id);
        }
        return best;
    }

    /// <summary>BertPreTokenizer (split on whitespace, isolate each punctuation character), then WordPiece on each word.</summary>
    private void Words(List<SourcedChar> chars, List<(int Id, TokenOffset Offset)> output, int limit)
    {
        int start = 0;
        for (int i = 0; i <= chars.Count && output.Count < limit; i++)
        {
            bool end = i == chars.Count;
            int c = end ? ' ' : chars[i].CodePoint;
            bool space = BertNormalizer.IsWhitespace(c), punctuation = !space && BertNormalizer.IsPunctuation(c);
            if (!space && !punctuation) continue;
            if (i > start) WordPiece(chars, start, i, output);
            if (punctuation) WordPiece(chars, i, i + 1, output);
            start = i + 1;
        }
    }

    /// <summary>Greedy longest-match-first WordPiece; a word too long or with an unmatched remainder is one unknown token.</summary>
    private void WordPiece(List<SourcedChar> chars, int start, int end, List<(int Id, TokenOffset Offset)> output)
    {
        var whole = new TokenOffset(chars[start].Start, chars[end - 1].End);
        if (end - start > _options.MaxInputCharsPerWord) { output.Add((_unknownId, whole)); return; }
        var word = new StringBuilder();
        var utf16Start = new int[end - start + 1];
        for (int i = start; i < end; i++)
        {
            utf16Start[i - start] = word.Length;
            int c = chars[i].CodePoint;
            if (c < 0x10000) word.Append((char)c); else word.Append(char.ConvertFromUtf32(c));
        }
        utf16Start[end - start] = word.Length;
        string prefix = _options.ContinuingSubwordPrefix;
        var candidate = new char[prefix.Length + word.Length];
        prefix.CopyTo(candidate);
        int first = output.Count;
        for (int s = 0; s < end - start;)
        {
            int found = -1, e = end - start;
            for (; e > s; e--)
            {
                int offset = s > 0 ? 0 : prefix.Length, length = utf16Start[e] - utf16Start[s];
                word.CopyTo(utf16Start[s], candidate, prefix.Length, length);
                if (_lookup.TryGetValue(candidate.AsSpan(offset, prefix.Length - offset + length), out found)) break;
            }
            if (e == s)
            {
                output.RemoveRange(first, output.Count - first);
                output.Add((_unknownId, whole));
                return;
            }
            output.Add((found, new TokenOffset(chars[start + s].Start, chars[start + e - 1].End)));
            s = e;
        }
    }

    /// <summary>vocab.txt's lines (id = line number): split on \n, a final \n ends the last line rather than starting an empty one.</summary>
    private static string[] Lines(ReadOnlySpan<byte> text)
    {
        if (text.StartsWith("\uFEFF"u8)) text = text[3..];
        if (text.IsEmpty) return [];
        if (text[^1] == (byte)'\n') text = text[..^1];
        var lines = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(text).Split('\n');
        for (int i = 0; i < lines.Length; i++) lines[i] = lines[i].TrimEnd('\r');
        return lines;
    }
}
