using System.Numerics.Tensors;
using RepShift.Kernels;

namespace RepShift.Evaluation;

/// <summary>Leave-one-out k-nearest-neighbour classification by cosine similarity.</summary>
public static class KnnClassifier
{
    /// <summary>
    /// Predicts each item's label from its <paramref name="k"/> most similar other items by majority vote.
    /// A tied vote goes to the tied label with the larger summed similarity; if that ties too, to the tied
    /// label met first among the neighbours (nearest first). Equal similarities rank the lower index first.
    /// </summary>
    public static string[] LeaveOneOut(IReadOnlyList<float[]> vectors, IReadOnlyList<string> labels, int k)
    {
        int n = vectors.Count;
        if (labels.Count != n) throw new ArgumentException($"{n} vectors but {labels.Count} labels");
        if (k < 1 || k > n - 1)
            throw new RepShiftException($"k = {k} is out of range: leave-one-out over {n} documents allows 1 to {n - 1} neighbours");
        var unit = UnitVectors.From(vectors, "vector");
        var labelIds = new Dictionary<string, int>(StringComparer.Ordinal);
        var ids = new int[n];
        var names = new List<string>();
        for (int i = 0; i < n; i++)
        {
            if (!labelIds.TryGetValue(labels[i], out int id))
            {
                id = names.Count;
                labelIds.Add(labels[i], id);
                names.Add(labels[i]);
            }
            ids[i] = id;
        }

        var predicted = new string[n];
        Parallel.For(0, n, i =>
        {
            var nearest = new int[k];
            var sims = new float[k];
            int found = 0;
            for (int j = 0; j < n; j++)
            {
                if (j == i) continue;
                float s = TensorPrimitives.Dot(unit[i], unit[j]);
                // Strictly greater: among equal similarities the earlier (lower) index keeps its place.
                if (found == k && s <= sims[k - 1]) continue;
                int pos = found < k ? found++ : k - 1;
                while (pos > 0 && sims[pos - 1] < s)
                {
                    sims[pos] = sims[pos - 1];
                    nearest[pos] = nearest[pos - 1];
                    pos--;
                }
                sims[pos] = s;
                nearest[pos] = j;
            }
            predicted[i] = names[Vote(nearest, sims, ids, names.Count)];
        });
        return predicted;
    }

    /// <summary>Share of items whose leave-one-out prediction equals their label, in [0, 1].</summary>
    public static double LeaveOneOutAccuracy(IReadOnlyList<float[]> vectors, IReadOnlyList<string> labels, int k)
    {
        var predicted = LeaveOneOut(vectors, labels, k);
        int correct = 0;
        for (int i = 0; i < predicted.Length; i++)
            if (predicted[i] == labels[i]) correct++;
        return (double)correct / predicted.Length;
    }

    private static int Vote(int[] nearest, float[] sims, int[] labelOf, int labelCount)
    {
        var votes = new int[labelCount];
        var sums = new double[labelCount];
        for (int r = 0; r < nearest.Length; r++)
        {
            votes[labelOf[nearest[r]]]++;
            sums[labelOf[nearest[r]]] += sims[r];
        }
        // Walking the neighbours nearest first and replacing only on a strictly better (votes, sum) makes the final tie-break the nearest label.
        int best = labelOf[nearest[0]];
        for (int r = 1; r < nearest.Length; r++)
        {
            int label = labelOf[nearest[r]];
            if (votes[label] > votes[best] || (votes[label] == votes[best] && sums[label] > sums[best])) best = label;
        }
        return best;
    }
}
