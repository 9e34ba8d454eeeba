using System.Numerics.Tensors;

namespace RepShift.Evaluation;

/// <summary>
/// L2-normalised copies of embeddings, so a dot product is the cosine. The embedder already normalises, but
/// the metrics must stay right for vectors from elsewhere (another model, another pooling).
/// </summary>
internal static class UnitVectors
{
    public static float[][] From(IReadOnlyList<float[]> vectors, string what)
    {
        var unit = new float[vectors.Count][];
        int dim = vectors.Count > 0 ? vectors[0].Length : 0;
        for (int i = 0; i < unit.Length; i++)
        {
            var v = vectors[i];
            if (v.Length != dim) throw new ArgumentException($"{what} {i} has {v.Length} dimensions, the first has {dim}");
            unit[i] = new float[dim];
            float norm = TensorPrimitives.Norm(v);
            if (!float.IsFinite(norm)) throw new ArgumentException($"{what} {i} holds a non-finite value");
            // A zero vector has no direction: it stays zero, so its cosine with everything is 0.
            if (norm > 0) TensorPrimitives.Divide(v, norm, unit[i]);
        }
        return unit;
    }

    public static void CheckSameDimension(float[][] a, float[][] b, string whatA, string whatB)
    {
        if (a.Length > 0 && b.Length > 0 && a[0].Length != b[0].Length)
            throw new ArgumentException($"{whatA} have {a[0].Length} dimensions but {whatB} {b[0].Length}");
    }
}
