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
    private int[] _tokenId = [];
    private float[] _score = [];
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

    /// <summary>Vocabulary id of each row (−1 for rows that stand for several tokens).</summary>
    public Span<int> TokenId => _tokenId.AsSpan(0, Count);

    /// <summary>Importance of each row, written by a scorer before a reduction.</summary>
    public Span<float> Score => _score.AsSpan(0, Count);

    /// <summary>The backing array of <see cref="Hidden"/> (length ≥ Count·Dim), for kernels that take arrays.</summary>
    internal float[] HiddenArray => _hidden;
    internal float[] SizeArray => _size;

    public int Length(int sequence) => _seqStarts[sequence + 1] - _seqStarts[sequence];

    public Span<float> Row(int token) => _hidden.AsSpan(token * Dim, Dim);

    /// <summary>
    /// Resets the batch to the given token sequences; hidden states are left for the caller to fill.
    /// <paramref name="protectedPrefix"/>[s], when given, protects that many rows after [CLS] too (a prompt's tokens).
    /// </summary>
    public void Reset(IReadOnlyList<int[]> ids, IReadOnlyList<int>? protectedPrefix = null)
    {
        if (protectedPrefix != null && protectedPrefix.Count != ids.Count)
            throw new ArgumentException($"{protectedPrefix.Count} protected prefixes for {ids.Count} sequences");
        var lengths = new int[ids.Count];
        for (int s = 0; s < ids.Count; s++) lengths[s] = ids[s].Length;
        Reset(lengths);
        for (int s = 0; s < ids.Count; s++)
        {
            ids[s].CopyTo(_tokenId, _seqStarts[s]);
            int end = Math.Min(1 + (protectedPrefix?[s] ?? 0), lengths[s]);
            for (int i = 1; i < end; i++) _protected[_seqStarts[s] + i] = true;
        }
    }

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
        Grow(ref _tokenId, count);
        Grow(ref _score, count);
        for (int s = 0; s < Sequences; s++)
        {
            int start = _seqStarts[s], n = lengths[s];
            for (int i = 0; i < n; i++)
            {
                _origin[start + i] = i;
                _size[start + i] = 1f;
                _protected[start + i] = i == 0 || i == n - 1;
                _tokenId[start + i] = -1;
            }
        }
    }

    /// <summary>Copies row <paramref name="from"/> (state and metadata) onto row <paramref name="to"/>.</summary>
    internal void MoveRow(int from, int to)
    {
        if (from == to) return;
        _hidden.AsSpan(from * Dim, Dim).CopyTo(_hidden.AsSpan(to * Dim, Dim));
        _origin[to] = _origin[from];
        _size[to] = _size[from];
        _protected[to] = _protected[from];
        _tokenId[to] = _tokenId[from];
        _score[to] = _score[from];
    }

    /// <summary>Sets where sequence <paramref name="sequence"/> ends after a reduction compacted it.</summary>
    internal void SetEnd(int sequence, int end) => _seqStarts[sequence + 1] = end;

    private static void Grow<T>(ref T[] array, int needed)
    {
        if (array.Length < needed) array = new T[Math.Max(needed, array.Length * 3 / 2)];
    }
}
