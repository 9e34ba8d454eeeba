using System.Buffers.Binary;
using System.Numerics;

namespace RepShift.Embeddings;

/// <summary>
/// Sign bits, packed: dimension d is bit 7 − (d mod 8) of byte d / 8 (most significant bit first, as numpy's
/// packbits and sentence-transformers' "ubinary" write it); the bit is 1 when the component is &gt; 0. Trailing
/// bits of the last byte are 0. Similarity is the Hamming distance (fewer differing bits = closer).
/// </summary>
public static class BinaryCodes
{
    public static int ByteCount(int dimensions) => (dimensions + 7) / 8;

    public static byte[] Pack(ReadOnlySpan<float> vector)
    {
        var bytes = new byte[ByteCount(vector.Length)];
        for (int d = 0; d < vector.Length; d++)
            if (vector[d] > 0) bytes[d >> 3] |= (byte)(0x80 >> (d & 7));
        return bytes;
    }

    /// <summary>The sign vector a code stands for: +1 where the bit is set, −1 where it is not.</summary>
    public static float[] Unpack(ReadOnlySpan<byte> code, int dimensions)
    {
        if (code.Length != ByteCount(dimensions)) throw new ArgumentException($"a {dimensions}-dimensional code has {ByteCount(dimensions)} bytes, not {code.Length}");
        var signs = new float[dimensions];
        for (int d = 0; d < dimensions; d++) signs[d] = (code[d >> 3] & (0x80 >> (d & 7))) != 0 ? 1f : -1f;
        return signs;
    }

    /// <summary>Bits that differ between two codes of the same length.</summary>
    public static int Hamming(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"codes of {a.Length} and {b.Length} bytes cannot be compared");
        int distance = 0, i = 0;
        for (; i + 8 <= a.Length; i += 8)
            distance += BitOperations.PopCount(BinaryPrimitives.ReadUInt64LittleEndian(a[i..]) ^ BinaryPrimitives.ReadUInt64LittleEndian(b[i..]));
        for (; i < a.Length; i++) distance += BitOperations.PopCount((uint)(a[i] ^ b[i]));
        return distance;
    }

    /// <summary>
    /// The <paramref name="k"/> codes nearest <paramref name="query"/> by Hamming distance, nearest first; equal
    /// distances keep the corpus order (lower index first), so the result is the same on every run. With the float
    /// query at hand, the overload that takes it breaks ties better.
    /// </summary>
    public static int[] Search(ReadOnlySpan<byte> query, IReadOnlyList<byte[]> codes, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        return ByDistance(query, codes, out _)[..Math.Min(k, codes.Count)];
    }

    /// <summary>Every code's index, nearest first (equal distances in corpus order), and every code's distance.</summary>
    private static int[] ByDistance(ReadOnlySpan<byte> query, IReadOnlyList<byte[]> codes, out int[] distances)
    {
        // Distances are at most 8 · bytes: a counting sort by distance is exact and linear.
        int maxDistance = 8 * query.Length;
        distances = new int[codes.Count];
        var counts = new int[maxDistance + 2];
        for (int j = 0; j < codes.Count; j++)
        {
            distances[j] = Hamming(query, codes[j]);
            counts[distances[j] + 1]++;
        }
        for (int d = 1; d < counts.Length; d++) counts[d] += counts[d - 1];
        var order = new int[codes.Count];
        for (int j = 0; j < codes.Count; j++) order[counts[distances[j]]++] = j;
        return order;
    }

    /// <summary>
    /// The <paramref name="k"/> codes nearest the bits of a float query (its signs, as <see cref="Pack"/> sets them) by
    /// Hamming distance, nearest first. Few bits give few distinct distances (65 for 64 bits), so the k-th place usually
    /// falls inside a run of equal distances, and which of them make the cut decides what a re-scoring pass can find.
    /// Equal distances are ordered by the query-weighted Hamming distance, Σ |query[d]| over the differing bits (a bit the
    /// query barely holds costs less than one it holds firmly: the asymmetric distance of Gordo et al., "Asymmetric
    /// distances for binary embeddings", IEEE TPAMI 2014, used here only inside a tie), then by corpus order. Hamming
    /// distance still decides every place it can; only codes at or inside the k-th distance are weighted.
    /// </summary>
    public static int[] Search(ReadOnlySpan<float> query, IReadOnlyList<byte[]> codes, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        var order = ByDistance(Pack(query), codes, out var distances);
        k = Math.Min(k, codes.Count);
        if (k == 0) return [];
        // Every code as far as the k-th: whole runs of equal distance, each re-ordered.
        int last = distances[order[k - 1]], end = k;
        while (end < order.Length && distances[order[end]] == last) end++;
        // Σ query[d]·(±1) = Σ|query| − 2·Σ_differing |query[d]|: a larger sign dot is a smaller weighted distance.
        var ranked = new (int Distance, float Score, int Index)[end];
        for (int r = 0; r < end; r++) ranked[r] = (distances[order[r]], SignDot(query, codes[order[r]]), order[r]);
        Array.Sort(ranked, (x, y) => x.Distance != y.Distance ? x.Distance.CompareTo(y.Distance)
            : x.Score != y.Score ? y.Score.CompareTo(x.Score) : x.Index.CompareTo(y.Index));
        return [.. ranked.Take(k).Select(x => x.Index)];
    }

    /// <summary>
    /// Re-scores a shortlist with the float query against the codes' sign vectors (only the bits are needed),
    /// best first; equal scores keep the shortlist's order.
    /// </summary>
    public static int[] Rescore(ReadOnlySpan<float> query, IReadOnlyList<byte[]> codes, IReadOnlyList<int> shortlist)
    {
        var scored = new (float Score, int Position, int Index)[shortlist.Count];
        for (int s = 0; s < shortlist.Count; s++) scored[s] = (SignDot(query, codes[shortlist[s]]), s, shortlist[s]);
        Array.Sort(scored, (x, y) => x.Score != y.Score ? y.Score.CompareTo(x.Score) : x.Position.CompareTo(y.Position));
        return [.. scored.Select(x => x.Index)];
    }

    /// <summary>Σ query[d] · (bit d ? +1 : −1): the float query's dot product with the code's sign vector.</summary>
    public static float SignDot(ReadOnlySpan<float> query, ReadOnlySpan<byte> code)
    {
        if (code.Length != ByteCount(query.Length)) throw new ArgumentException($"a {query.Length}-dimensional query needs {ByteCount(query.Length)}-byte codes, not {code.Length}");
        float sum = 0;
        for (int d = 0; d < query.Length; d++) sum += (code[d >> 3] & (0x80 >> (d & 7))) != 0 ? query[d] : -query[d];
        return sum;
    }
}
