using System.Buffers;
using System.Runtime.Intrinsics.X86;

namespace RepShift.Kernels;

/// <summary>
/// Tiled attention with an online softmax (FlashAttention-2 style) over packed variable-length sequences.
/// Each work item is one (sequence, head, query block): it streams the sequence's key/value blocks, keeps
/// a running row maximum and sum, and rescales its output accumulator when the maximum grows, so no more
/// than one block of scores ever exists. Scratch is O(block²) per worker, whatever the sequence length.
/// Same contract as <see cref="NaiveAttention.Run"/>.
/// </summary>
/// <remarks>
/// Scores are kept in log2 units (the query block is pre-multiplied by scale·log2 e) so that the
/// exponential is a plain 2^x (<see cref="VectorExp"/>). Attention received is a second streaming pass
/// that recomputes the scores from the saved log-sum-exp; [CLS] attention needs only query 0's row.
/// </remarks>
public static unsafe partial class FlashAttention
{
    /// <summary>Query rows per micro-tile (6 rows × 16 columns = 12 accumulators of the 16 AVX2 registers).</summary>
    internal const int TileRows = 6;

    /// <summary>Keys per packed panel, and output columns per micro-tile.</summary>
    internal const int TileCols = 16;

    private const float Log2E = 1.44269504088896341f;
    private const double Ln2 = 0.69314718055994531;

    public static void Run(ComputeContext compute, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output,
        ReadOnlySpan<int> seqStarts, AttentionOptions options)
    {
        int tokens = options.Begin(q.Length, k.Length, v.Length, output.Length, seqStarts);
        if (tokens == 0) return;
        int batch = seqStarts.Length - 1;

        int heads = options.Heads, d = options.HeadDim;
        var blocks = BlockSizes(d);
        bool perKey = options.AttentionReceived != null || options.ClsAttention != null;
        // Both per-key outputs need every row's log-sum-exp: O(T·heads) floats, kept in log2 units.
        float[]? lse2 = perKey ? ArrayPool<float>.Shared.Rent(checked(tokens * heads)) : null;
        long lseBytes = perKey ? (long)lse2!.Length * sizeof(float) : 0;
        compute.Scratch.Acquire(lseBytes);
        int[] order = ArrayPool<int>.Shared.Rent(batch);
        int[]? items = null;
        try
        {
            LongestFirst(seqStarts, order);
            items = ForwardItems(seqStarts, order, heads, blocks, out int forwardCount);
            fixed (float* pq = q) fixed (float* pk = k) fixed (float* pv = v) fixed (float* po = output) fixed (int* ps = seqStarts)
            fixed (float* pBias = options.KeyBias) fixed (float* pLse = options.LogSumExp) fixed (float* pLse2 = lse2)
            fixed (float* pReceived = options.AttentionReceived) fixed (float* pCls = options.ClsAttention)
            {
                var job = new Job
                {
                    Q = pq,
                    K = pk,
                    V = pv,
                    Output = po,
                    SeqStarts = ps,
                    KeyBias = pBias,
                    LogSumExp = pLse,
                    Lse2 = pLse2,
                    Received = pReceived,
                    Cls = pCls,
                    Heads = heads,
                    HeadDim = d,
                    InputStride = options.InputStride,
                    OutputStride = options.OutputStride,
                    QueryScale = options.EffectiveScale * Log2E,
                    Blocks = blocks,
                    Compute = compute,
                };
                switch (d)
                {
                    case 32: Passes<Dim32>(job, items, forwardCount, seqStarts, order); break;
                    case 64: Passes<Dim64>(job, items, forwardCount, seqStarts, order); break;
                    case 128: Passes<Dim128>(job, items, forwardCount, seqStarts, order); break;
                    default: Passes<DimAny>(job, items, forwardCount, seqStarts, order); break;
                }
            }
        }
        finally
        {
            if (items != null) ArrayPool<int>.Shared.Return(items);
            ArrayPool<int>.Shared.Return(order);
            if (lse2 != null) ArrayPool<float>.Shared.Return(lse2);
            compute.Scratch.Release(lseBytes);
        }
    }

    /// <summary>
    /// How a sequence is cut: <see cref="BlockQ"/> query rows share one score tile, <see cref="Groups"/>
    /// such blocks form a work item and share each packed key/value block, <see cref="BlockK"/> keys per
    /// key block.
    /// </summary>
    internal readonly record struct Blocking(int BlockQ, int BlockK, int Groups)
    {
        public int RowsPerItem => BlockQ * Groups;
    }

    /// <summary>
    /// Block sizes per head dim. A work item's working set (its query rows and accumulators, the packed
    /// K panels and V block, one Bq×Bk score tile) is 208 KB at d = 64, 280 KB at d = 128 and 236 KB at
    /// d = 256, so it lives in L2; the micro-kernels' operands (a 16-key panel and 6 query rows, ≤ 22 KB)
    /// live in L1. Packing a key block took ~13% of the time at d = 64 when only 96 rows used it, so two
    /// query blocks share it (d ≤ 128) rather than one larger score tile, which measured no faster.
    /// </summary>
    internal static Blocking BlockSizes(int headDim) => headDim switch
    {
        <= 64 => new Blocking(96, 128, 2),
        <= 128 => new Blocking(96, 64, 2),
        _ => new Blocking(48, 64, 1),
    };

    /// <summary>Head dim rounded up to whole micro-tile columns: the row stride of the V block and the accumulator.</summary>
    internal static int PaddedDim(int headDim) => (headDim + TileCols - 1) / TileCols * TileCols;

    private static void Passes<TD>(Job job, int[] items, int forwardCount, ReadOnlySpan<int> seqStarts, int[] order)
        where TD : struct, IHeadDim
    {
        // Below ~8 MFLOP (~0.1 ms on one core) waking a second worker costs more than it saves.
        double flops = 0;
        for (int s = 0; s + 1 < seqStarts.Length; s++)
        {
            double n = seqStarts[s + 1] - seqStarts[s];
            flops += 4 * n * n * job.HeadDim * job.Heads;
        }
        bool parallel = flops > 8e6;
        For(job.Compute, parallel, forwardCount, i => job.Forward<TD>(items[3 * i], items[3 * i + 1], items[3 * i + 2]));
        if (job.Received != null)
        {
            // Items own disjoint key ranges (all heads, all queries), so no two threads write the same key.
            int count = KeyBlockItems(seqStarts, order, job.Blocks.BlockK, items);
            For(job.Compute, parallel, count, i => job.ReceivedBlock<TD>(items[2 * i], items[2 * i + 1]));
        }
        if (job.Cls != null) For(job.Compute, parallel, seqStarts.Length - 1, s => job.ClsRow(s));
    }

    private static void For(ComputeContext compute, bool parallel, int count, Action<int> body)
    {
        if (parallel) compute.For(count, body);
        else
            for (int i = 0; i < count; i++) body(i);
    }

    /// <summary>Sequence indices by decreasing length, so the longest work is handed out first.</summary>
    private static void LongestFirst(ReadOnlySpan<int> seqStarts, int[] order)
    {
        int batch = seqStarts.Length - 1;
        int[] keys = ArrayPool<int>.Shared.Rent(batch);
        for (int s = 0; s < batch; s++)
        {
            order[s] = s;
            keys[s] = seqStarts[s] - seqStarts[s + 1];
        }
        Array.Sort(keys, order, 0, batch);
        ArrayPool<int>.Shared.Return(keys);
    }

    /// <summary>(sequence, head, row group) triples; row groups of a head are adjacent so a worker's K/V stay warm.</summary>
    private static int[] ForwardItems(ReadOnlySpan<int> seqStarts, int[] order, int heads, Blocking blocks, out int count)
    {
        int itemRows = blocks.RowsPerItem, blockK = blocks.BlockK;
        int batch = seqStarts.Length - 1;
        long total = 0, keyBlocks = 0;
        for (int s = 0; s < batch; s++)
        {
            int n = seqStarts[s + 1] - seqStarts[s];
            total += (long)heads * ((n + itemRows - 1) / itemRows);
            keyBlocks += (n + blockK - 1) / blockK; // the received pass reuses this array for its pairs
        }
        count = checked((int)total);
        int[] items = ArrayPool<int>.Shared.Rent(checked((int)Math.Max(3 * total, 2 * keyBlocks)));
        int at = 0;
        for (int o = 0; o < batch; o++)
        {
            int s = order[o];
            int groups = (seqStarts[s + 1] - seqStarts[s] + itemRows - 1) / itemRows;
            for (int h = 0; h < heads; h++)
                for (int b = 0; b < groups; b++)
                {
                    items[at++] = s;
                    items[at++] = h;
                    items[at++] = b;
                }
        }
        return items;
    }

    /// <summary>(sequence, key block) pairs for the attention-received pass, written into <paramref name="items"/>.</summary>
    private static int KeyBlockItems(ReadOnlySpan<int> seqStarts, int[] order, int blockK, int[] items)
    {
        int at = 0;
        for (int o = 0; o < seqStarts.Length - 1; o++)
        {
            int s = order[o];
            int blocks = (seqStarts[s + 1] - seqStarts[s] + blockK - 1) / blockK;
            for (int b = 0; b < blocks; b++)
            {
                items[at++] = s;
                items[at++] = b;
            }
        }
        return at / 2;
    }

    /// <summary>Everything a work item needs, as raw pointers into the pinned inputs and outputs.</summary>
    private readonly partial struct Job
    {
        public float* Q { get; init; }
        public float* K { get; init; }
        public float* V { get; init; }
        public float* Output { get; init; }
        public int* SeqStarts { get; init; }
        public float* KeyBias { get; init; }
        public float* LogSumExp { get; init; }
        public float* Lse2 { get; init; }
        public float* Received { get; init; }
        public float* Cls { get; init; }
        public int Heads { get; init; }
        public int HeadDim { get; init; }
        public int InputStride { get; init; }
        public int OutputStride { get; init; }
        public float QueryScale { get; init; }
        public Blocking Blocks { get; init; }
        public ComputeContext Compute { get; init; }

        /// <summary>
        /// One (sequence, head, row group): stream all key blocks, each packed once and used by every query
        /// block of the group, then normalise and write.
        /// </summary>
        public void Forward<TD>(int seq, int head, int item) where TD : struct, IHeadDim
        {
            int d = TD.Value != 0 ? TD.Value : HeadDim;
            int dp = PaddedDim(d), blockQ = Blocks.BlockQ, blockK = Blocks.BlockK;
            int start = SeqStarts[seq], n = SeqStarts[seq + 1] - start;
            int q0 = item * Blocks.RowsPerItem, rows = Math.Min(Blocks.RowsPerItem, n - q0);
            var sc = Compute.FlashScratch.Rent(Compute, HeadDim, Blocks);
            try
            {
                LoadQueries<TD>(sc.Q, Q + (long)(start + q0) * InputStride + head * d, rows, RoundUp(rows, TileRows));
                for (int i = 0; i < rows; i++)
                {
                    sc.RowMax[i] = float.NegativeInfinity;
                    sc.RowSum[i] = 0;
                }
                new Span<float>(sc.O, RoundUp(rows, TileRows) * dp).Clear();
                for (int kb = 0; kb < n; kb += blockK)
                {
                    int kn = Math.Min(blockK, n - kb), kp = RoundUp(kn, TileCols);
                    long keyRow = (long)(start + kb) * InputStride + head * d;
                    PackKeys<TD>(sc, K + keyRow, kn, kp, KeyBias == null ? null : KeyBias + start + kb);
                    PackValues<TD>(sc, V + keyRow, kn);
                    // The next key block is read from strided rows; ask for it now so the reads overlap this block's arithmetic.
                    if (kb + blockK < n) Prefetch(keyRow + (long)blockK * InputStride, Math.Min(blockK, n - kb - blockK), d);
                    for (int g = 0; g < rows; g += blockQ)
                    {
                        int gRows = Math.Min(blockQ, rows - g), gPadded = RoundUp(gRows, TileRows);
                        Scores<TD>(sc, sc.Q + g * d, gPadded, kp);
                        OnlineSoftmax(sc.S, gRows, gPadded, kp, sc.RowMax + g, sc.RowSum + g, sc.O + g * dp, dp);
                        AccumulateValues<TD>(sc, sc.O + g * dp, gPadded, kn, kp);
                    }
                }
                Finish<TD>(sc, start + q0, rows, head);
            }
            finally { Compute.FlashScratch.Return(Compute, sc); }
        }

        /// <summary>Asks for the K and V rows of a key block to be brought into L2.</summary>
        private void Prefetch(long row, int keys, int d)
        {
            if (!Sse.IsSupported) return;
            for (int j = 0; j < keys; j++)
            {
                byte* k = (byte*)(K + row + (long)j * InputStride), v = (byte*)(V + row + (long)j * InputStride);
                for (int b = 0; b < d * sizeof(float); b += 64)
                {
                    Sse.Prefetch1(k + b);
                    Sse.Prefetch1(v + b);
                }
            }
        }

        /// <summary>Divides each accumulator row by its softmax sum, writes it out, and records the log-sum-exp.</summary>
        private void Finish<TD>(FlashScratch sc, int firstToken, int rows, int head) where TD : struct, IHeadDim
        {
            int d = TD.Value != 0 ? TD.Value : HeadDim;
            int dp = PaddedDim(d);
            for (int i = 0; i < rows; i++)
            {
                float sum = sc.RowSum[i];
                float* src = sc.O + i * dp;
                float* dst = Output + (long)(firstToken + i) * OutputStride + head * d;
                var inv = System.Runtime.Intrinsics.Vector256.Create(1f / sum);
                int c = 0;
                for (; c + 8 <= d; c += 8) System.Runtime.Intrinsics.Vector256.Store(System.Runtime.Intrinsics.Vector256.Load(src + c) * inv, dst + c);
                for (; c < d; c++) dst[c] = src[c] / sum;
                double lse2 = sc.RowMax[i] + Math.Log2(sum);
                long at = (long)(firstToken + i) * Heads + head;
                if (LogSumExp != null) LogSumExp[at] = (float)(lse2 * Ln2);
                if (Lse2 != null) Lse2[at] = (float)lse2;
            }
        }
    }

    internal static int RoundUp(int n, int multiple) => (n + multiple - 1) / multiple * multiple;
}

/// <summary>
/// A head dimension known when the JIT specialises the per-item code (0: read it at run time), giving the
/// loading, packing and output loops constant trip counts for d = 32, 64, 128. The micro-kernels take d
/// at run time: they are FMA-bound, and a specialised, unrolled score kernel measured no faster (&lt; 1%).
/// </summary>
internal interface IHeadDim
{
    static abstract int Value { get; }
}

internal readonly struct Dim32 : IHeadDim
{
    public static int Value => 32;
}

internal readonly struct Dim64 : IHeadDim
{
    public static int Value => 64;
}

internal readonly struct Dim128 : IHeadDim
{
    public static int Value => 128;
}

internal readonly struct DimAny : IHeadDim
{
    public static int Value => 0;
}
