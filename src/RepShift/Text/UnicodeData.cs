namespace RepShift.Text;

/// <summary>Character classes BERT's normalizer and pre-tokenizer test, as the `tokenizers` Rust crates define them.</summary>
[Flags]
internal enum CharFlags : byte
{
    None = 0,
    /// <summary>General category Cc, Cf, Co or Cs (unicode_categories' is_other, less unassigned code points).</summary>
    Control = 1,
    /// <summary>General category P*.</summary>
    Punctuation = 2,
    /// <summary>General category Mn: what strip_accents removes after NFD.</summary>
    NonspacingMark = 4,
    /// <summary>The White_Space property (Rust's char::is_whitespace).</summary>
    Whitespace = 8,
}

/// <summary>Lookups over the generated <see cref="UnicodeTables"/>: classes, canonical decomposition, lowercase.</summary>
internal static class UnicodeData
{
    private const int HangulBase = 0xAC00, HangulCount = 11172, LeadBase = 0x1100, VowelBase = 0x1161, TrailBase = 0x11A7;
    private const int VowelCount = 21, TrailCount = 28;

    // Copied once into arrays: reading the large generated span properties on every lookup was measured ~50× slower.
    private static readonly int[] FlagRunStarts = UnicodeTables.FlagRunStarts.ToArray();
    private static readonly byte[] FlagRunValues = UnicodeTables.FlagRunValues.ToArray();
    private static readonly int[] DecompositionKeys = UnicodeTables.DecompositionKeys.ToArray();
    private static readonly int[] DecompositionOffsets = UnicodeTables.DecompositionOffsets.ToArray();
    private static readonly int[] DecompositionValues = UnicodeTables.DecompositionValues.ToArray();
    private static readonly int[] CombiningKeys = UnicodeTables.CombiningKeys.ToArray();
    private static readonly byte[] CombiningValues = UnicodeTables.CombiningValues.ToArray();
    private static readonly int[] LowercaseKeys = UnicodeTables.LowercaseKeys.ToArray();
    private static readonly int[] LowercaseOffsets = UnicodeTables.LowercaseOffsets.ToArray();
    private static readonly int[] LowercaseValues = UnicodeTables.LowercaseValues.ToArray();

    public static CharFlags Flags(int codePoint)
    {
        int i = Array.BinarySearch(FlagRunStarts, codePoint);
        if (i < 0) i = ~i - 1;
        return (CharFlags)FlagRunValues[i];
    }

    /// <summary>Appends the full canonical decomposition of <paramref name="codePoint"/> (itself when it has none).</summary>
    public static void AppendDecomposition(int codePoint, List<int> output)
    {
        int s = codePoint - HangulBase;
        if ((uint)s < HangulCount)
        {
            output.Add(LeadBase + s / (VowelCount * TrailCount));
            output.Add(VowelBase + s % (VowelCount * TrailCount) / TrailCount);
            if (s % TrailCount != 0) output.Add(TrailBase + s % TrailCount);
            return;
        }
        if (codePoint < 0xC0) { output.Add(codePoint); return; }
        int i = Array.BinarySearch(DecompositionKeys, codePoint);
        if (i < 0) { output.Add(codePoint); return; }
        for (int k = DecompositionOffsets[i]; k < DecompositionOffsets[i + 1]; k++) output.Add(DecompositionValues[k]);
    }

    public static int CombiningClass(int codePoint)
    {
        if (codePoint < 0x300) return 0;
        int i = Array.BinarySearch(CombiningKeys, codePoint);
        return i < 0 ? 0 : CombiningValues[i];
    }

    /// <summary>The full lowercase mapping (several code points for e.g. U+0130), as Rust's char::to_lowercase.</summary>
    public static ReadOnlySpan<int> Lowercase(int codePoint)
    {
        int i = Array.BinarySearch(LowercaseKeys, codePoint);
        if (i < 0) return default;
        return LowercaseValues.AsSpan(LowercaseOffsets[i], LowercaseOffsets[i + 1] - LowercaseOffsets[i]);
    }
}
