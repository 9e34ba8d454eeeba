using System.Runtime.CompilerServices;

namespace RepShift.Kernels;

/// <summary>
/// One worker's tile buffers for <see cref="FlashAttention"/>: O(block²) floats, independent of sequence
/// length. Carved from one pinned array so the kernels can use raw pointers without pinning per call;
/// every region starts on a 64-byte boundary. Rented per work item from its context's <see cref="Pool"/>, so
/// the number alive is bounded by the number of workers running at once, and reported to the context's
/// <see cref="ScratchMeter"/> while rented.
/// </summary>
internal sealed unsafe class FlashScratch
{
    private const int Align = 16; // floats: 64 bytes

    private readonly float[] _buffer;

    /// <summary>The work item's query rows, pre-scaled [groups·Bq, d].</summary>
    public readonly float* Q;

    /// <summary>Key block transposed into panels of 16 keys: [kp/16][d][16].</summary>
    public readonly float* KPanels;

    /// <summary>Per-key bias of the key block in log2 units [kp]; −∞ on padded keys.</summary>
    public readonly float* KBias;

    /// <summary>Value block [Bk, dp], columns d..dp zero.</summary>
    public readonly float* V;

    /// <summary>Scores, then probabilities, of one query block [Bq, kp].</summary>
    public readonly float* S;

    /// <summary>Unnormalised output accumulator [groups·Bq, dp].</summary>
    public readonly float* O;

    /// <summary>Running row maxima and sums [groups·Bq].</summary>
    public readonly float* RowMax, RowSum;

    /// <summary>Per-key sums of one query block [kp] (attention-received pass).</summary>
    public readonly float* ColSum;

    /// <summary>Per-key totals over all query blocks and heads [kp] (attention-received pass).</summary>
    public readonly double* ColTotal;

    public readonly int HeadDim;
    public readonly FlashAttention.Blocking Blocks;

    private FlashScratch(int headDim, FlashAttention.Blocking blocks)
    {
        HeadDim = headDim;
        Blocks = blocks;
        int dp = FlashAttention.PaddedDim(headDim), itemRows = blocks.RowsPerItem, blockK = blocks.BlockK;
        long q = Round((long)itemRows * headDim), kPanels = (long)blockK * headDim, bias = blockK, v = (long)blockK * dp;
        long s = (long)blocks.BlockQ * blockK, o = (long)itemRows * dp, rows = Round(itemRows), colSum = blockK, colTotal = 2L * blockK;
        long total = q + kPanels + bias + v + s + o + 2 * rows + colSum + colTotal + Align;
        _buffer = GC.AllocateUninitializedArray<float>(checked((int)total), pinned: true);
        float* p = (float*)(((nint)Unsafe.AsPointer(ref _buffer[0]) + Align * sizeof(float) - 1) & ~(nint)(Align * sizeof(float) - 1));
        Q = p; p += q;
        KPanels = p; p += kPanels;
        KBias = p; p += bias;
        V = p; p += v;
        S = p; p += s;
        O = p; p += o;
        RowMax = p; p += rows;
        RowSum = p; p += rows;
        ColSum = p; p += colSum;
        ColTotal = (double*)p;
    }

    public long Bytes => (long)_buffer.Length * sizeof(float);

    private static long Round(long n) => (n + Align - 1) / Align * Align;

    /// <summary>One context's spare scratches.</summary>
    internal sealed class Pool
    {
        private readonly List<FlashScratch> _spare = [];

        /// <summary>A scratch for these block sizes, from the pool when one fits; counted by the context's meter until returned.</summary>
        public FlashScratch Rent(ComputeContext compute, int headDim, FlashAttention.Blocking blocks)
        {
            FlashScratch? found = null;
            lock (_spare)
            {
                for (int i = _spare.Count - 1; i >= 0; i--)
                {
                    var s = _spare[i];
                    if (s.HeadDim == headDim && s.Blocks == blocks)
                    {
                        found = s;
                        _spare.RemoveAt(i);
                        break;
                    }
                }
            }
            found ??= new FlashScratch(headDim, blocks);
            compute.Scratch.Acquire(found.Bytes);
            return found;
        }

        public void Return(ComputeContext compute, FlashScratch scratch)
        {
            compute.Scratch.Release(scratch.Bytes);
            lock (_spare)
            {
                // Bounded so that a burst of concurrent callers does not pin memory for ever; the oldest goes first.
                if (_spare.Count >= 2 * compute.Threads) _spare.RemoveAt(0);
                _spare.Add(scratch);
            }
        }
    }
}
