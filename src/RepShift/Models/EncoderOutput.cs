namespace RepShift.Models;

/// <summary>Pooled vectors of a batch and the token rows each sequence had processed, summed over layers.</summary>
public sealed record EncoderOutput(float[][] Embeddings, int[] TokenLayers);
