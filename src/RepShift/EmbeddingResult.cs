namespace RepShift;

/// <summary>Vectors for a list of texts with the work they took.</summary>
/// <param name="Vectors">One embedding per text, in input order.</param>
/// <param name="Tokens">Tokens per text after truncation, [CLS] and [SEP] included.</param>
/// <param name="Truncated">How many texts were cut to the maximum length.</param>
/// <param name="TokenLayers">Token rows processed, summed over layers (tokens × layers without compression).</param>
public sealed record EmbeddingResult(float[][] Vectors, int[] Tokens, int Truncated, long TokenLayers)
{
    public long TotalTokens
    {
        get
        {
            long sum = 0;
            foreach (int t in Tokens) sum += t;
            return sum;
        }
    }
}
