using System.Numerics.Tensors;

namespace RepShift.Embeddings;

/// <summary>
/// Shorter vectors Matryoshka-style: the first N components, L2-normalised again so a dot product is still the
/// cosine. Models trained with a Matryoshka loss keep most of their quality this way; others lose more (the
/// cost per dimension is measured in docs/RESULTS.md).
/// </summary>
public static class Matryoshka
{
    /// <summary>Throws unless 1 ≤ <paramref name="dimensions"/> ≤ <paramref name="modelDimension"/>.</summary>
    public static void CheckDimensions(int dimensions, int modelDimension, string modelName)
    {
        if (dimensions < 1 || dimensions > modelDimension)
            throw new OptionException("Dimensions", $"{dimensions} dimensions requested: {modelName} gives {modelDimension}, so ask for 1 to {modelDimension}");
    }

    /// <summary>The first <paramref name="dimensions"/> components of <paramref name="vector"/>, L2-normalised (a zero prefix stays zero).</summary>
    public static float[] Truncate(ReadOnlySpan<float> vector, int dimensions)
    {
        if (dimensions < 1 || dimensions > vector.Length)
            throw new ArgumentOutOfRangeException(nameof(dimensions), $"{dimensions} dimensions requested from a {vector.Length}-dimensional vector: ask for 1 to {vector.Length}");
        var prefix = vector[..dimensions];
        var result = new float[dimensions];
        float norm = TensorPrimitives.Norm(prefix);
        if (norm > 0) TensorPrimitives.Divide(prefix, norm, result);
        return result;
    }

    /// <summary><see cref="Truncate(ReadOnlySpan{float}, int)"/> for every vector; the same arrays when nothing is cut (the embedder's vectors are already unit length).</summary>
    public static float[][] Truncate(IReadOnlyList<float[]> vectors, int dimensions)
    {
        var result = new float[vectors.Count][];
        for (int i = 0; i < result.Length; i++)
            result[i] = vectors[i].Length == dimensions ? vectors[i] : Truncate(vectors[i], dimensions);
        return result;
    }
}
