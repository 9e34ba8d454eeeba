using System.Globalization;
using System.Text;
using RepShift.Loading;
using RepShift.Text;

namespace RepShift.Tests;

/// <summary>Tokenizer ids against ids computed independently: vocabulary line numbers and a plain WordPiece written here.</summary>
public class TokenizerTests
{
    private static readonly Lazy<string[]> Vocab = new(() =>
    {
        using var reader = new StreamReader(EmbeddedModel.OpenVocab());
        var lines = new List<string>();
        while (reader.ReadLine() is { } line) lines.Add(line);
        return [.. lines];
    });

    private static readonly Lazy<BertTextTokenizer> Tokenizer = new(() => BertTextTokenizer.FromVocab(EmbeddedModel.OpenVocab()));

    [Fact]
    public void KnownSentenceHasTheVocabularyIds()
    {
        // Ids read off vocab.txt by hand: [CLS]=101, the=1996, cat=4937, sat=2938, on=2006, mat=13523, .=1012, [SEP]=102.
        Assert.Equal([101, 1996, 4937, 2938, 2006, 1996, 13523, 1012, 102], Tokenizer.Value.Encode("The cat sat on the mat.", 256).Ids);
    }

    [Theory]
    [InlineData("Hello, world!")]
    [InlineData("A man is playing a guitar.")]
    [InlineData("Unbelievably, the tokenizer's output matches: 3.14 and 2,718!")]
    [InlineData("Café naïve résumé — accents are stripped when lower-casing.")]
    [InlineData("supercalifragilisticexpialidocious antidisestablishmentarianism")]
    [InlineData("The BBC reported on 12 Feb 2005 that shares rose (by 4.5%).")]
    public void IdsMatchAnIndependentWordPiece(string text)
    {
        Assert.Equal(ReferenceWordPiece(text), Tokenizer.Value.Encode(text, 512).Ids);
    }

    [Fact]
    public void TruncationKeepsSepLast()
    {
        var text = string.Join(" ", Enumerable.Repeat("word", 600));
        var t = Tokenizer.Value.Encode(text, 256);
        Assert.True(t.Truncated);
        Assert.Equal(256, t.Ids.Length);
        Assert.Equal(101, t.Ids[0]);
        Assert.Equal(102, t.Ids[^1]);
        Assert.False(Tokenizer.Value.Encode("short text", 256).Truncated);
    }

    [Fact]
    public void EmptyVocabularyIsAClearError()
    {
        var e = Assert.Throws<ModelFormatException>(() => BertTextTokenizer.FromVocab(new MemoryStream(), source: "empty-vocab.txt"));
        Assert.Contains("empty-vocab.txt", e.Message);
    }

    /// <summary>
    /// BERT's uncased pipeline, written from its description: lower-case, strip accents (NFD, drop
    /// non-spacing marks), split on whitespace and around punctuation, then greedy longest-match WordPiece.
    /// </summary>
    private static int[] ReferenceWordPiece(string text)
    {
        var vocab = Vocab.Value;
        var index = new Dictionary<string, int>();
        for (int i = 0; i < vocab.Length; i++) index.TryAdd(vocab[i], i);
        var folded = new StringBuilder();
        foreach (char c in text.ToLowerInvariant().Normalize(NormalizationForm.FormD))
            if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark) folded.Append(c);
        var words = new List<string>();
        var current = new StringBuilder();
        foreach (char c in folded.ToString())
        {
            if (char.IsWhiteSpace(c) || char.IsPunctuation(c) || char.IsSymbol(c))
            {
                if (current.Length > 0) words.Add(current.ToString());
                current.Clear();
                if (!char.IsWhiteSpace(c)) words.Add(c.ToString());
            }
            else current.Append(c);
        }
        if (current.Length > 0) words.Add(current.ToString());

        var ids = new List<int> { index["[CLS]"] };
        foreach (var word in words)
        {
            var pieces = new List<int>();
            int start = 0;
            while (start < word.Length)
            {
                int end = word.Length, found = -1;
                while (end > start)
                {
                    string piece = (start > 0 ? "##" : "") + word[start..end];
                    if (index.TryGetValue(piece, out found)) break;
                    end--;
                }
                if (end == start) { pieces = [index["[UNK]"]]; break; }
                pieces.Add(found);
                start = end;
            }
            ids.AddRange(pieces);
        }
        ids.Add(index["[SEP]"]);
        return [.. ids];
    }
}
