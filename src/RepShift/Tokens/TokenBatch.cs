namespace RepShift.Tokens;

/// <summary>
/// Hidden states of several sequences packed row-wise, [Count, Dim], with no padding: sequence s owns
/// rows [SeqStarts[s], SeqStarts[s+1]) (FlashAttention's cu_seqlens). Each row also carries where it
/// came from (<see cref="Origin"/>, its position in the input), how many input tokens it stands for
/// (<see cref="Size"/>, 1 until tokens are merged) and whether compression must keep it
/// (<see cref="Protected"/>: [CLS], [SEP]). Buffers grow and are reused across batches.
/// </summary>
public sealed class TokenBatch
{
    private float[] _hidden = [];
    private int[] _origin = [];
    private float[] _size = [];
    private bool[] _protected = [];
    private int[] _seqStarts = [0];

    public TokenBatch(int dim)
    {
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim));
        Dim = dim;
    }

    public int Dim { get; }

    /// <summary>Number of sequences.</summary>
    public int Sequences { get; private set; }

    /// <summary>Number of token rows over all sequences.</summary>
    public int Count => _seqStarts[Sequences];

    public Span<float> Hidden => _hidden.AsSpan(0, Count * Dim);
    public Span<int> SeqStarts => _seqStarts.AsSpan(0, Sequences + 1);
    public Span<int> Origin => _origin.AsSpan(0, Count);
    public Span<float> Size => _size.AsSpan(0, Count);
    public Span<bool> Protected => _protected.AsSpan(0, Count);

    /// <summary>The backing array of <see cref="Hidden"/> (length ≥ Count·Dim), for kernels that take arrays.</summary>
    internal float[] HiddenArray => _hidden;
    internal float[] SizeArray => _size;

    public int Length(int sequence) => _seqStarts[sequence + 1] - _seqStarts[sequence];

    public Span<float> Row(int token) => _hidden.AsSpan(token * Dim, Dim);

    /// <summary>Resets the batch to the given sequence lengths; hidden states are left for the caller to fill.</summary>
    public void Reset(ReadOnlySpan<int> lengths)
    {
        Sequences = lengths.Length;
        Grow(ref _seqStarts, lengths.Length + 1);
        _seqStarts[0] = 0;
        for (int s = 0; s < lengths.Length; s++)
        {
            if (lengths[s] < 0) throw new ArgumentException($"sequence {s} has negative length {lengths[s]}");
            _seqStarts[s + 1] = checked(_seqStarts[s] + lengths[s]);
        }
        int count = _seqStarts[Sequences];
        Grow(ref _hidden, checked(count * Dim));
        Grow(ref _origin, count);
        Grow(ref _size, count);
        Grow(ref _protected, count);
        for (int s = 0; s < Sequences; s++)
        {
            int start = _seqStarts[s], n = lengths[s];
            for (int i = 0; i < n; i++)
            {
                _origin[start + i] = i;
                _size[start + i] = 1f;
                _protected[start + i] = i == 0 || i == n - 1;
            }
        }
    }

    private static void Grow<T>(ref T[] array, int needed)
    {
        if (array.Length < needed) array = new T[Math.Max(needed, array.Length * 3 / 2)];
    }
}
