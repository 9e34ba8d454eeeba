namespace RepShift.Evaluation;

/// <summary>What embedding the evaluation's texts cost.</summary>
/// <param name="Texts">Texts embedded.</param>
/// <param name="Tokens">Input tokens after truncation, summed over all texts.</param>
/// <param name="TokenLayers">Token rows the layers processed, summed (see <see cref="EmbeddingResult.TotalTokenLayers"/>).</param>
/// <param name="Truncated">Texts cut to the maximum length.</param>
/// <param name="Seconds">Wall time of the embedding alone (reading and scoring excluded).</param>
public sealed record EmbeddingWork(int Texts, long Tokens, long TokenLayers, int Truncated, double Seconds)
{
    internal static EmbeddingWork Of(EmbeddingResult result, double seconds) =>
        new(result.Vectors.Length, result.TotalTokens, result.TotalTokenLayers, result.Truncated, seconds);
}
