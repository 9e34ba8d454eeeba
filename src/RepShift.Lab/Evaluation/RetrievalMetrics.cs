using System.Numerics.Tensors;
using RepShift.Kernels;

namespace RepShift.Evaluation;

/// <summary>Retrieval quality as fractions in [0, 1]: query i should find document i.</summary>
public sealed record RetrievalScores(double Recall1, double Recall10, double Mrr10, int Queries);

/// <summary>Ranks every document for every query by cosine similarity.</summary>
public static class RetrievalMetrics
{
    /// <summary>
    /// The 1-based rank of document i among ALL documents for query i: one plus the number of documents
    /// strictly more similar. A document exactly as similar (an identical copy: BBC News holds 133 duplicated
    /// article bodies) does not push the own one down — finding either copy is finding the article. Ranking
    /// copies by file order instead costs BBC retrieval 4.5 points of recall@1 for no reason in the model.
    /// </summary>
    public static int[] OwnDocumentRanks(IReadOnlyList<float[]> queries, IReadOnlyList<float[]> documents)
    {
        if (queries.Count != documents.Count) throw new ArgumentException($"{queries.Count} queries but {documents.Count} documents: each query needs its own document");
        var q = UnitVectors.From(queries, "query");
        var d = UnitVectors.From(documents, "document");
        UnitVectors.CheckSameDimension(q, d, "queries", "documents");
        var ranks = new int[q.Length];
        Parallel.For(0, q.Length, i =>
        {
            float own = TensorPrimitives.Dot(q[i], d[i]);
            int ahead = 0;
            for (int j = 0; j < d.Length; j++)
            {
                if (j == i) continue;
                float s = TensorPrimitives.Dot(q[i], d[j]);
                if (s > own) ahead++;
            }
            ranks[i] = ahead + 1;
        });
        return ranks;
    }

    /// <summary>Recall@1, recall@10 and MRR@10 (reciprocal rank when the own document is in the top 10, else 0).</summary>
    public static RetrievalScores Score(IReadOnlyList<float[]> queries, IReadOnlyList<float[]> documents) => FromRanks(OwnDocumentRanks(queries, documents));

    public static RetrievalScores FromRanks(IReadOnlyList<int> ranks)
    {
        if (ranks.Count == 0) throw new ArgumentException("no queries to score");
        int top1 = 0, top10 = 0;
        double reciprocal = 0;
        foreach (int rank in ranks)
        {
            if (rank < 1) throw new ArgumentException($"rank {rank} is not 1-based");
            if (rank == 1) top1++;
            if (rank <= 10)
            {
                top10++;
                reciprocal += 1.0 / rank;
            }
        }
        return new RetrievalScores((double)top1 / ranks.Count, (double)top10 / ranks.Count, reciprocal / ranks.Count, ranks.Count);
    }
}
