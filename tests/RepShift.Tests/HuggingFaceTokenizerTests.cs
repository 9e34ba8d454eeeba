using System.Text.Json.Nodes;
using RepShift.Loading;

namespace RepShift.Tests;

/// <summary>Tokenizer settings read from a folder's tokenizer.json, checked by loading the same file into Hugging Face's library.</summary>
public class HuggingFaceTokenizerTests
{
    private static readonly string[] Texts =
    [
        "Héllo, WORLD! naïve café", "hello\nworld\tagain", "unbelievable cats running", "中文 and 한국어", "ctrl\u0001\u200Bchars",
        "[MASK] sat on the [SEP] mat", "abcdefghij", "İstanbul ǅ ﬁ",
    ];

    [Theory]
    [InlineData(true, null, true, true, 100)]
    [InlineData(true, false, true, true, 100)]
    [InlineData(false, true, false, false, 6)]
    [InlineData(false, null, true, false, 3)]
    public void Tokenizer_json_settings_give_hugging_faces_ids(bool lowercase, bool? stripAccents, bool cleanText, bool chinese, int maxChars)
    {
        using var dir = new TempDirectory();
        var vocab = HuggingFaceOracle.Vocab();
        var json = JsonNode.Parse(HuggingFaceOracle.TokenizerJson(vocab))!;
        json["normalizer"] = new JsonObject
        {
            ["type"] = "BertNormalizer",
            ["clean_text"] = cleanText,
            ["handle_chinese_chars"] = chinese,
            ["strip_accents"] = stripAccents,
            ["lowercase"] = lowercase,
        };
        json["model"]!["max_input_chars_per_word"] = maxChars;
        string path = Path.Combine(dir.Path, "tokenizer.json");
        File.WriteAllText(path, json.ToJsonString());

        var ours = HuggingFaceTokenizer.Load(dir.Path);
        var theirs = new Tokenizers.DotNet.Tokenizer(vocabPath: path);
        foreach (string text in Texts)
            Assert.Equal(Array.ConvertAll(theirs.Encode(text), x => (int)x), ours.Encode(text, 1000).Ids);
    }

    [Fact]
    public void Tokenizer_config_overrides_the_normalizer_as_transformers_does()
    {
        using var dir = new TempDirectory();
        var json = JsonNode.Parse(HuggingFaceOracle.TokenizerJson(HuggingFaceOracle.Vocab()))!;
        json["normalizer"]!["lowercase"] = false;
        File.WriteAllText(Path.Combine(dir.Path, "tokenizer.json"), json.ToJsonString());
        File.WriteAllText(Path.Combine(dir.Path, "tokenizer_config.json"), """{"do_lower_case": true, "strip_accents": false}""");
        var options = HuggingFaceTokenizer.Load(dir.Path).Options;
        Assert.True(options.Lowercase);
        Assert.False(options.StripAccents);
    }

    [Fact]
    public void Unsupported_tokenizer_model_is_a_clear_error()
    {
        using var dir = new TempDirectory();
        var json = JsonNode.Parse(HuggingFaceOracle.TokenizerJson(HuggingFaceOracle.Vocab()))!;
        json["model"]!["type"] = "BPE";
        File.WriteAllText(Path.Combine(dir.Path, "tokenizer.json"), json.ToJsonString());
        var e = Assert.Throws<ModelFormatException>(() => HuggingFaceTokenizer.Load(dir.Path));
        Assert.Contains("\"BPE\" is not supported", e.Message);
    }
}
