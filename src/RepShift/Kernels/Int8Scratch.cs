namespace RepShift.Kernels;

/// <summary>The quantized activations of one int8 GEMM call (q + 128 per row, padded to K rounded up to 4) and their per-row scales.</summary>
internal sealed class Int8Scratch(int bytes, int rows)
{
    public readonly byte[] Quantized = new byte[bytes];
    public readonly float[] RowScales = new float[rows];

    public long Bytes => Quantized.LongLength + 4L * RowScales.Length;

    /// <summary>Spare scratches of a context, reused across calls (concurrent calls each rent their own).</summary>
    internal sealed class Pool
    {
        private readonly List<Int8Scratch> _spare = [];

        public Int8Scratch Rent(ComputeContext compute, int bytes, int rows)
        {
            Int8Scratch? found = null;
            lock (_spare)
            {
                for (int i = _spare.Count - 1; i >= 0; i--)
                    if (_spare[i].Quantized.Length >= bytes && _spare[i].RowScales.Length >= rows)
                    {
                        found = _spare[i];
                        _spare.RemoveAt(i);
                        break;
                    }
                // None fits: drop one that is too small, so the pool keeps one scratch per concurrent caller.
                if (found == null && _spare.Count > 0) _spare.RemoveAt(_spare.Count - 1);
            }
            // Grow by a quarter so a stream of slightly larger batches does not reallocate every call.
            found ??= new Int8Scratch(bytes + bytes / 4, rows + rows / 4);
            compute.Scratch.Acquire(found.Bytes);
            return found;
        }

        public void Return(ComputeContext compute, Int8Scratch scratch)
        {
            compute.Scratch.Release(scratch.Bytes);
            lock (_spare) _spare.Add(scratch);
        }
    }
}
