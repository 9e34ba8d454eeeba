namespace RepShift;

/// <summary>Vectors for a list of texts with the work they took.</summary>
/// <param name="Vectors">One embedding per text, in input order.</param>
/// <param name="Tokens">Tokens per text after truncation, [CLS] and [SEP] included.</param>
/// <param name="TokenLayers">Token rows each text had processed, summed over layers (tokens × layers without compression).</param>
/// <param name="Truncated">How many texts were cut to the maximum length.</param>
public sealed record EmbeddingResult(float[][] Vectors, int[] Tokens, int[] TokenLayers, int Truncated)
{
    public long TotalTokens => Sum(Tokens);

    public long TotalTokenLayers => Sum(TokenLayers);

    private static long Sum(int[] values)
    {
        long sum = 0;
        foreach (int v in values) sum += v;
        return sum;
    }
}
