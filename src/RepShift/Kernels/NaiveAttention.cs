using System.Numerics.Tensors;

namespace RepShift.Kernels;

/// <summary>
/// Attention that materialises the full score and probability matrix of each (sequence, head): simple
/// enough to trust, O(N²) memory. It is the reference for <c>FlashAttention</c> and the honest
/// "without FlashAttention" baseline in benchmarks.
/// </summary>
public static class NaiveAttention
{
    public static void Run(ComputeContext compute, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output,
        ReadOnlySpan<int> seqStarts, AttentionOptions options)
    {
        int tokens = options.Begin(q.Length, k.Length, v.Length, output.Length, seqStarts);
        if (tokens == 0) return;
        int batch = seqStarts.Length - 1;

        unsafe
        {
            fixed (float* pq = q) fixed (float* pk = k) fixed (float* pv = v) fixed (float* po = output) fixed (int* ps = seqStarts)
            {
                var job = new Job(compute, pq, pk, pv, po, ps, options);
                int heads = options.Heads;
                // Heads of one sequence run on one thread so the per-key outputs need no locking.
                compute.For(batch, s => { for (int h = 0; h < heads; h++) job.Run(s, h); });
            }
        }
    }

    /// <summary>Probabilities [n, n] of one (sequence, head), for tests and inspection.</summary>
    public static float[] Probabilities(ReadOnlySpan<float> q, ReadOnlySpan<float> k, int start, int length, int head, AttentionOptions options)
    {
        var p = new float[length * length];
        Scores(q, k, start, length, head, options, p);
        for (int i = 0; i < length; i++) TensorPrimitives.SoftMax(p.AsSpan(i * length, length), p.AsSpan(i * length, length));
        return p;
    }

    private static void Scores(ReadOnlySpan<float> q, ReadOnlySpan<float> k, int start, int n, int head, AttentionOptions o, Span<float> scores)
    {
        int d = o.HeadDim, stride = o.InputStride;
        float scale = o.EffectiveScale;
        for (int i = 0; i < n; i++)
        {
            var qi = q.Slice((start + i) * stride + head * d, d);
            for (int j = 0; j < n; j++)
            {
                float s = TensorPrimitives.Dot(qi, k.Slice((start + j) * stride + head * d, d)) * scale;
                if (o.KeyBias != null) s += o.KeyBias[start + j];
                scores[i * n + j] = s;
            }
        }
    }

    private readonly unsafe struct Job(ComputeContext compute, float* q, float* k, float* v, float* output, int* seqStarts, AttentionOptions o)
    {
        public void Run(int seq, int head)
        {
            int start = seqStarts[seq], n = seqStarts[seq + 1] - start;
            if (n == 0) return;
            int d = o.HeadDim, stride = o.InputStride;
            long span = (long)(start + n - 1) * stride + (long)(head + 1) * d;
            var qs = new ReadOnlySpan<float>(q, (int)span);
            var ks = new ReadOnlySpan<float>(k, (int)span);
            var vs = new ReadOnlySpan<float>(v, (int)span);
            var p = new float[n * n];
            // Reported so benchmarks can set this job's N² map against flash attention's scratch.
            long bytes = (long)p.Length * sizeof(float);
            compute.Scratch.Acquire(bytes);
            try { Softmax(qs, ks, vs, p, start, n, head); }
            finally { compute.Scratch.Release(bytes); }
        }

        private void Softmax(ReadOnlySpan<float> qs, ReadOnlySpan<float> ks, ReadOnlySpan<float> vs, float[] p, int start, int n, int head)
        {
            int d = o.HeadDim, stride = o.InputStride;
            Scores(qs, ks, start, n, head, o, p);
            float invHeads = 1f / o.Heads;
            for (int i = 0; i < n; i++)
            {
                var row = p.AsSpan(i * n, n);
                float max = TensorPrimitives.Max<float>(row);
                TensorPrimitives.Subtract(row, max, row);
                TensorPrimitives.Exp(row, row);
                float sum = TensorPrimitives.Sum<float>(row);
                TensorPrimitives.Divide(row, sum, row);
                if (o.LogSumExp != null) o.LogSumExp[(start + i) * o.Heads + head] = max + MathF.Log(sum);
                var outRow = new Span<float>(output + (long)(start + i) * o.OutputStride + head * d, d);
                outRow.Clear();
                for (int j = 0; j < n; j++)
                    TensorPrimitives.MultiplyAdd(vs.Slice((start + j) * stride + head * d, d), row[j], outRow, outRow);
                if (o.AttentionReceived != null)
                    for (int j = 0; j < n; j++) o.AttentionReceived[start + j] += row[j] * invHeads;
                if (i == 0 && o.ClsAttention != null)
                    for (int j = 0; j < n; j++) o.ClsAttention[start + j] += row[j] * invHeads;
            }
        }
    }
}
