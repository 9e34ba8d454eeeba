namespace RepShift.Cli.Commands;

/// <summary>Texts chosen to stress tokenizer and engine: lengths from one token to past 512, scripts, digits, symbols, repetition.</summary>
internal static class VerificationTexts
{
    private const string Paragraph = "Transformers spend most of their time on tokens that barely matter. Token compression removes them "
        + "between layers, and fused attention kernels never build the attention map, so memory grows linearly with length. ";

    public static readonly IReadOnlyList<string> All =
    [
        "a", "I", "ok", "Hi!", "yes", "42", "x y", "The cat sat on the mat.",
        "A man is playing a guitar.", "Someone is slicing an onion in the kitchen.",
        "The quick brown fox jumps over the lazy dog.", "Is this the real life? Is this just fantasy?",
        "café naïve résumé façade coöperate", "Ελληνικά: γεια σου κόσμε", "Русский текст для проверки токенизатора.",
        "日本語のテキストです。", "中文文本测试，看看分词器如何处理。", "한국어 문장입니다.", "עברית מימין לשמאל", "العربية من اليمين إلى اليسار",
        "Emoji 🙂🚀🎉 mixed with words", "Ünïcödé ÀÉÎÕÜ ß ø å æ", "naïve Zürich Kraków Ångström",
        "3.14159 2.71828 1.41421 1.73205", "1234567890 0987654321", "Call +1 (555) 010-9999 before 09:30 on 2024-02-29.",
        "$1,000,000.00 vs €999.99 vs ¥100", "v1.2.3-beta+build.45 released on 12/31/1999",
        "!!!", "???", "...", "!?!?!?", "-- -- --", "*** ### @@@ %%%", "()[]{}<>", "\"quoted\" 'single' `back`",
        "the the the the the the the the the the the the", "buffalo buffalo buffalo buffalo buffalo buffalo buffalo buffalo",
        string.Join(" ", Enumerable.Repeat("repeat", 200)), string.Join(" ", Enumerable.Repeat("word", 700)),
        string.Concat(Enumerable.Repeat(Paragraph, 4)), string.Concat(Enumerable.Repeat(Paragraph, 25)),
        "https://example.com/path?query=value&x=1#anchor", "user.name@example.org wrote: see RFC 2119.",
        "def f(x): return x ** 2  # python", "SELECT * FROM users WHERE id = 7;", "<html><body>Hello</body></html>",
        "ALL CAPS SENTENCE SHOUTING LOUDLY", "MiXeD cAsE tExT", "tab\tseparated\tvalues", "line one\nline two\nline three",
        "   leading and trailing spaces   ", "supercalifragilisticexpialidocious antidisestablishmentarianism",
        "pneumonoultramicroscopicsilicovolcanoconiosis", "Dr. Smith's co-worker didn't arrive at 5 p.m., did she?",
        "A B C D E F G H I J K L M N O P Q R S T U V W X Y Z", "αβγδε ∑∏∫√∞ ≤≥≠≈",
        // Where tokenizers disagree most: symbols BERT keeps, characters its normalizer drops or decomposes.
        "hello\nworld\r\nagain", "a+b=c <x> $y ^z |w| ~v", "£10 €20 ©2024 ™ 30° ±5", "zero\u200Bwidth join\u200Dme soft\u00ADhyphen",
        "안녕하세요 세계", "हिन्दी में लिखा गया पाठ", "İstanbul ΣΊΣΥΦΟΣ ǅ ﬁ", "ctrl\u0000\u0001\u001Bchars", "[MASK] and [SEP] inside a text",
        new string('x', 101) + " long word",
    ];
}
