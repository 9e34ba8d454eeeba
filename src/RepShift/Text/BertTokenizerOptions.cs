namespace RepShift.Text;

/// <summary>
/// The settings of a Hugging Face BERT tokenizer (tokenizer.json's BertNormalizer and WordPiece model, or
/// vocab.txt with tokenizer_config.json). Defaults are bert-base-uncased's.
/// </summary>
public sealed record BertTokenizerOptions
{
    /// <summary>Drop U+0000, U+FFFD and control characters; turn every whitespace character into a space.</summary>
    public bool CleanText { get; init; } = true;

    /// <summary>Put spaces around CJK ideographs, so each is a word of its own.</summary>
    public bool HandleChineseChars { get; init; } = true;

    /// <summary>Decompose (NFD) and drop non-spacing marks; null follows <see cref="Lowercase"/>, as Hugging Face does.</summary>
    public bool? StripAccents { get; init; }

    public bool Lowercase { get; init; } = true;

    /// <summary>Words longer than this many characters (Unicode scalar values) become the unknown token.</summary>
    public int MaxInputCharsPerWord { get; init; } = 100;

    public string ContinuingSubwordPrefix { get; init; } = "##";

    public string UnknownToken { get; init; } = "[UNK]";

    public string ClsToken { get; init; } = "[CLS]";

    public string SepToken { get; init; } = "[SEP]";

    /// <summary>
    /// Tokens matched verbatim in the raw text before normalization and mapped straight to their id, as
    /// tokenizer.json's special added_tokens are ("[MASK]" in a text is the mask token, not five pieces).
    /// </summary>
    public IReadOnlyList<string> SpecialTokens { get; init; } = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    internal bool StripsAccents => StripAccents ?? Lowercase;
}
