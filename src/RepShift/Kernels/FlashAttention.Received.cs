using System.Runtime.Intrinsics;

namespace RepShift.Kernels;

public static unsafe partial class FlashAttention
{
    private readonly partial struct Job
    {
        /// <summary>
        /// Attention received by one key block of one sequence: for every head and query block, recompute
        /// the scores with the same kernel as the forward pass and add exp2(s − lse2) down each column.
        /// The item owns its keys, so the per-key totals need no locking.
        /// </summary>
        public void ReceivedBlock<TD>(int seq, int kBlock) where TD : struct, IHeadDim
        {
            int d = TD.Value != 0 ? TD.Value : HeadDim;
            int start = SeqStarts[seq], n = SeqStarts[seq + 1] - start;
            int blockQ = Blocks.BlockQ, blockK = Blocks.BlockK;
            int kb = kBlock * blockK, kn = Math.Min(blockK, n - kb), kp = RoundUp(kn, TileCols);
            var sc = Compute.FlashScratch.Rent(Compute, HeadDim, Blocks);
            try
            {
                new Span<double>(sc.ColTotal, kp).Clear();
                for (int head = 0; head < Heads; head++)
                {
                    PackKeys<TD>(sc, K + (long)(start + kb) * InputStride + head * d, kn, kp, KeyBias == null ? null : KeyBias + start + kb);
                    for (int q0 = 0; q0 < n; q0 += blockQ)
                    {
                        int rows = Math.Min(blockQ, n - q0), rowsPadded = RoundUp(rows, TileRows);
                        LoadQueries<TD>(sc.Q, Q + (long)(start + q0) * InputStride + head * d, rows, rowsPadded);
                        Scores<TD>(sc, sc.Q, rowsPadded, kp);
                        ColumnSums(sc, rows, kp, Lse2 + (long)(start + q0) * Heads + head, Heads);
                    }
                }
                float invHeads = 1f / Heads;
                for (int j = 0; j < kn; j++) Received[start + kb + j] = (float)(sc.ColTotal[j] * invHeads);
            }
            finally { Compute.FlashScratch.Return(Compute, sc); }
        }

        /// <summary>
        /// Attention from the sequence's first token to each of its keys, averaged over heads. The score is
        /// accumulated in the same order as the score kernel's (bias, then one fused multiply-add per
        /// dimension), so it matches the row the forward pass normalised bit for bit.
        /// </summary>
        public void ClsRow(int seq)
        {
            int start = SeqStarts[seq], n = SeqStarts[seq + 1] - start;
            if (n == 0) return;
            int d = HeadDim;
            float* query = stackalloc float[d];
            float invHeads = 1f / Heads;
            for (int head = 0; head < Heads; head++)
            {
                float* q = Q + (long)start * InputStride + head * d;
                for (int c = 0; c < d; c++) query[c] = q[c] * QueryScale;
                float lse2 = Lse2[(long)start * Heads + head];
                for (int j = 0; j < n; j++)
                {
                    float* key = K + (long)(start + j) * InputStride + head * d;
                    float s = KeyBias == null ? 0 : KeyBias[start + j] * Log2E;
                    for (int c = 0; c < d; c++) s = MathF.FusedMultiplyAdd(query[c], key[c], s);
                    Cls[start + j] += float.Exp2(s - lse2) * invHeads;
                }
            }
        }
    }

    /// <summary>Adds Σ_rows exp2(S[i, j] − lse2[i]) for each key j of the block to the double totals.</summary>
    private static void ColumnSums(FlashScratch sc, int rows, int kp, float* lse2, int lseStride)
    {
        float* sums = sc.ColSum;
        new Span<float>(sums, kp).Clear();
        for (int i = 0; i < rows; i++)
        {
            float* s = sc.S + i * kp;
            var l = Vector256.Create(lse2[(long)i * lseStride]);
            for (int j = 0; j < kp; j += 8)
                Vector256.Store(Vector256.Load(sums + j) + VectorExp.Exp2(Vector256.Load(s + j) - l), sums + j);
        }
        // At most one block of rows is summed in fp32; totals over the whole sequence go in double.
        for (int j = 0; j < kp; j++) sc.ColTotal[j] += sums[j];
    }
}
