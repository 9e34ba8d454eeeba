namespace RepShift.Text;

/// <summary>One normalized character and the span of the original text (UTF-16 indexes) it came from.</summary>
internal readonly record struct SourcedChar(int CodePoint, int Start, int End);

/// <summary>
/// Hugging Face's BertNormalizer on Unicode scalar values, keeping each character's source span:
/// clean_text, then handle_chinese_chars, then strip_accents (NFD, drop Mn), then lowercase.
/// </summary>
internal static class BertNormalizer
{
    public static void Normalize(string text, int start, int end, BertTokenizerOptions options, List<SourcedChar> output)
    {
        var chars = new List<SourcedChar>(end - start);
        for (int i = start; i < end;)
        {
            int width = 1, c = text[i];
            if (char.IsHighSurrogate(text[i]) && i + 1 < end && char.IsLowSurrogate(text[i + 1])) { c = char.ConvertToUtf32(text[i], text[i + 1]); width = 2; }
            // A lone surrogate cannot reach Rust: it arrives there as U+FFFD through UTF-8.
            else if (char.IsSurrogate(text[i])) c = 0xFFFD;
            var at = new SourcedChar(c, i, i + width);
            i += width;
            if (options.CleanText)
            {
                if (c == 0 || c == 0xFFFD || IsControl(c)) continue;
                if (IsWhitespace(c)) at = at with { CodePoint = ' ' };
            }
            if (options.HandleChineseChars && IsChinese(c))
            {
                chars.Add(at with { CodePoint = ' ', End = at.Start });
                chars.Add(at);
                chars.Add(at with { CodePoint = ' ', Start = at.End });
            }
            else chars.Add(at);
        }
        if (options.StripsAccents) chars = StripAccents(chars);
        if (!options.Lowercase) { output.AddRange(chars); return; }
        foreach (var at in chars)
        {
            var lower = at.CodePoint < 0x80 ? default : UnicodeData.Lowercase(at.CodePoint);
            if (lower.IsEmpty) output.Add(at with { CodePoint = at.CodePoint is >= 'A' and <= 'Z' ? at.CodePoint + 32 : at.CodePoint });
            else foreach (int l in lower) output.Add(at with { CodePoint = l });
        }
    }

    /// <summary>NFD (full canonical decomposition, then canonical ordering of combining marks), then drops Mn.</summary>
    private static List<SourcedChar> StripAccents(List<SourcedChar> chars)
    {
        var decomposed = new List<SourcedChar>(chars.Count);
        var parts = new List<int>(4);
        foreach (var at in chars)
        {
            parts.Clear();
            UnicodeData.AppendDecomposition(at.CodePoint, parts);
            foreach (int p in parts) decomposed.Add(at with { CodePoint = p });
        }
        // Canonical ordering: a stable sort by combining class within each run of non-zero classes.
        for (int i = 0; i < decomposed.Count;)
        {
            if (UnicodeData.CombiningClass(decomposed[i].CodePoint) == 0) { i++; continue; }
            int j = i;
            while (j < decomposed.Count && UnicodeData.CombiningClass(decomposed[j].CodePoint) != 0) j++;
            if (j - i > 1)
            {
                var run = decomposed.GetRange(i, j - i).OrderBy(x => UnicodeData.CombiningClass(x.CodePoint)).ToList();
                for (int k = 0; k < run.Count; k++) decomposed[i + k] = run[k];
            }
            i = j;
        }
        decomposed.RemoveAll(x => (Flags(x.CodePoint) & CharFlags.NonspacingMark) != 0);
        return decomposed;
    }

    private static readonly CharFlags[] AsciiFlags = [.. Enumerable.Range(0, 128).Select(UnicodeData.Flags)];

    public static CharFlags Flags(int codePoint) => codePoint < 128 ? AsciiFlags[codePoint] : UnicodeData.Flags(codePoint);

    /// <summary>clean_text's control test: \t, \n and \r count as whitespace, not control.</summary>
    private static bool IsControl(int c) => c is not ('\t' or '\n' or '\r') && (Flags(c) & CharFlags.Control) != 0;

    public static bool IsWhitespace(int c) => (Flags(c) & CharFlags.Whitespace) != 0;

    /// <summary>BertPreTokenizer's punctuation: every ASCII punctuation character (so also $ + &lt; = &gt; ^ ` | ~) and category P*.</summary>
    public static bool IsPunctuation(int c) =>
        c is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126 || (Flags(c) & CharFlags.Punctuation) != 0;

    /// <summary>The CJK ideograph blocks as Hugging Face's BertNormalizer lists them.</summary>
    private static bool IsChinese(int c) =>
        c is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B920 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}
