using System.Text;
using System.Text.Json;
using CsCheck;
using RepShift.Loading;
using RepShift.Text;

namespace RepShift.Tests;

/// <summary>The pure-C# tokenizer against Hugging Face's Rust `tokenizers` (the oracle), id for id.</summary>
public class TokenizerOracleTests
{
    private static readonly Lazy<BertTextTokenizer> Ours = new(() => BertTextTokenizer.FromVocab(EmbeddedModel.OpenVocab()));

    public static TheoryData<int> ProbeIndexes() => [.. Enumerable.Range(0, Probes.Value.Length)];

    private static readonly Lazy<(string Text, int[] Ids)[]> Probes = new(() =>
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "tokenizer-probes.json")));
        return [.. doc.RootElement.EnumerateArray().Select(e => (e.GetProperty("text").GetString()!, e.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray()))];
    });

    /// <summary>The issue's cases (line breaks, ASCII symbols, £ € ©, emoji, zero-width, soft hyphen, Hangul, Devanagari, CJK, long words, control runs), ids recorded from the oracle.</summary>
    [Theory]
    [MemberData(nameof(ProbeIndexes))]
    public void Probe_strings_have_the_recorded_ids(int index)
    {
        var (text, ids) = Probes.Value[index];
        Assert.Equal(ids, Ours.Value.Encode(text, 100_000).Ids);
    }

    [Fact]
    public void Recorded_probe_ids_are_still_the_oracles()
    {
        foreach (var (text, ids) in Probes.Value) Assert.Equal(ids, HuggingFaceOracle.Instance.Encode(text));
    }

    [Fact]
    public void Line_breaks_separate_words_and_ascii_symbols_are_tokens()
    {
        var t = Ours.Value;
        Assert.NotEqual(t.Encode("hello\nworld", 16).Ids, t.Encode("helloworld", 16).Ids);
        Assert.Equal(t.Encode("hello world", 16).Ids, t.Encode("hello\nworld", 16).Ids);
        Assert.Equal(7, t.Encode("a+b=c", 16).Ids.Length);
    }

    /// <summary>Every Unicode scalar value, each in contexts that show whether it is dropped, whitespace, punctuation, a mark or a letter.</summary>
    [Fact]
    public void Every_code_point_tokenizes_as_the_oracle_does()
    {
        const int chunk = 64;
        var failures = new List<string>();
        var text = new StringBuilder();
        for (int first = 0; first < 0x110000; first += chunk)
        {
            text.Clear();
            for (int c = first; c < first + chunk; c++) if (!IsSurrogate(c)) text.Append(Contexts(c));
            if (text.Length == 0) continue;
            string s = text.ToString();
            if (Ours.Value.Encode(s, int.MaxValue).Ids.AsSpan().SequenceEqual(HuggingFaceOracle.Instance.Encode(s))) continue;
            for (int c = first; c < first + chunk && failures.Count < 20; c++)
            {
                if (IsSurrogate(c)) continue;
                string one = Contexts(c);
                var ours = Ours.Value.Encode(one, int.MaxValue).Ids;
                var oracle = HuggingFaceOracle.Instance.Encode(one);
                if (!ours.AsSpan().SequenceEqual(oracle)) failures.Add($"U+{c:X4}: ours [{string.Join(",", ours)}], oracle [{string.Join(",", oracle)}]");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));

        static bool IsSurrogate(int c) => c is >= 0xD800 and <= 0xDFFF;
        static string Contexts(int c)
        {
            string s = char.ConvertFromUtf32(c);
            return $"a{s}b {s}{s} xA{s}\u0301{s}\u0327 ";
        }
    }

    /// <summary>Random text from every kind of character, in runs, id for id; CsCheck prints the seed of a failing case.</summary>
    [Fact]
    public void Generated_strings_tokenize_as_the_oracle_does()
    {
        RandomText.Sample(text => Assert.Equal(HuggingFaceOracle.Instance.Encode(text), Ours.Value.Encode(text, int.MaxValue).Ids),
            iter: 12_000, threads: 1, print: Escape);
    }

    [Fact]
    public void Offsets_point_at_the_source_of_each_token()
    {
        string text = "Héllo,\tWORLD 한국 [MASK] x\u0301";
        var t = Ours.Value.EncodeWithOffsets(text, 64);
        Assert.Equal(t.Ids, Ours.Value.Encode(text, 64).Ids);
        Assert.Equal(new TokenOffset(0, 0), t.Offsets[0]);
        Assert.Equal(new TokenOffset(0, 0), t.Offsets[^1]);
        var pieces = Enumerable.Range(1, t.Ids.Length - 2).Select(i => text[t.Offsets[i].Start..t.Offsets[i].End]).ToList();
        Assert.Equal(["Héllo", ",", "WORLD"], pieces.Take(3));
        Assert.Contains("[MASK]", pieces);
        Assert.Equal("x", pieces[^1]); // the accent is stripped, so the token covers the letter alone
        // Each Hangul syllable decomposes into jamo: every piece of "한국" points inside it.
        Assert.All(pieces.Skip(3).Take(pieces.Count - 5), p => Assert.True("한국".Contains(p), p));
    }

    [Theory]
    [InlineData("", false)]
    [InlineData(" \t\n", false)]
    [InlineData("\u0000\u0001\u200b\u00ad", false)]
    [InlineData("\u0301", false)]
    [InlineData("🙂", true)]
    [InlineData("x", true)]
    [InlineData("[SEP]", true)]
    public void Has_word_pieces_is_false_only_when_nothing_but_cls_and_sep_remains(string text, bool expected)
    {
        Assert.Equal(expected, Ours.Value.HasWordPieces(text));
        Assert.Equal(expected, Ours.Value.Encode(text, 16).Ids.Length > 2);
    }

    private static string Escape(string s) => JsonSerializer.Serialize(s);

    /// <summary>Pieces that stress each stage: any scalar, letters and marks, whitespace and control runs, CJK, Hangul, emoji, symbols, long words, special tokens.</summary>
    private static readonly Gen<string> RandomText = Gen.OneOf(
            Gen.Int[0, 0x10FFFF].Where(c => c is < 0xD800 or > 0xDFFF).Select(char.ConvertFromUtf32),
            Gen.Int[0, 0x2FFF].Where(c => c is < 0xD800 or > 0xDFFF).Select(char.ConvertFromUtf32),
            Gen.Char["abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"].Array[1, 12].Select(a => new string(a)),
            Gen.Char[" \t\n\r\u000B\u000C\u0085\u00A0\u2028\u3000\u0000\u0001\u001F\u007F\u200B\u200D\u00AD\uFEFF\uFFFD"].Array[1, 6].Select(a => new string(a)),
            Gen.Int[0x0300, 0x036F].Array[1, 4].Select(a => string.Concat(a.Select(char.ConvertFromUtf32))),
            Gen.Char["!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~£€©™°±§¶•…—–«»¿¡"].Select(c => c.ToString()),
            Gen.Int[0x4E00, 0x9FFF].Select(char.ConvertFromUtf32),
            Gen.Int[0xAC00, 0xD7A3].Select(char.ConvertFromUtf32),
            Gen.Int[0x0900, 0x097F].Array[1, 5].Select(a => string.Concat(a.Select(char.ConvertFromUtf32))),
            Gen.Int[0x1F300, 0x1FAFF].Select(char.ConvertFromUtf32),
            Gen.Char["aeiouxyzéàİıßΣσ"].Array[90, 110].Select(a => new string(a)),
            Gen.OneOf(Gen.Const("[MASK]"), Gen.Const("[SEP]"), Gen.Const("[CLS]"), Gen.Const("[UNK]"), Gen.Const("[PAD]"), Gen.Const("[mask]")),
            Gen.Const(" "))
        .Array[0, 40].Select(parts => string.Concat(parts));
}
