namespace RepShift.Cli.Serve;

/// <summary>
/// The server's rule for texts with nothing to embed: a text that tokenizes to no word piece ("", whitespace, only
/// control characters, or characters the vocabulary drops) is refused (400 naming it), since every such text
/// would get the same vector, that of a bare [CLS] [SEP]. An unknown word still counts: it becomes [UNK].
/// </summary>
internal static class WordPieces
{
    /// <summary>
    /// True when <paramref name="text"/> gives at least one token besides [CLS] and [SEP] under the embedder's own
    /// tokenizer: the tokenizer's rule (<c>HasWordPieces</c>, which stops at the first piece), the same one
    /// <c>TextEmbedder.Embed</c> applies.
    /// </summary>
    public static bool Any(TextEmbedder embedder, string text) => embedder.Tokenizer.HasWordPieces(text);
}
