using System.Numerics.Tensors;
using RepShift.Kernels;

namespace RepShift.Models;

/// <summary>
/// The word-embedding table [vocab, hidden]: fp32, or in int8 mode one symmetric int8 row per token with its
/// own scale (max|row| / 127), dequantized on lookup. In all-MiniLM-L6-v2 it is 30522 × 384, 47 MB in fp32 —
/// half the model — and 12 MB in int8. The error per value is at most half a step (max|row| / 254), before the
/// embedding LayerNorm.
/// </summary>
internal sealed class WordEmbeddingTable
{
    private readonly float[]? _fp32;
    private readonly sbyte[]? _int8;
    private readonly float[]? _scales;
    private readonly int _dim;

    public WordEmbeddingTable(float[] table, int rows, int dim, Precision precision)
    {
        _dim = dim;
        if (precision != Precision.Int8)
        {
            _fp32 = table;
            return;
        }
        _int8 = new sbyte[table.Length];
        _scales = new float[rows];
        for (int r = 0; r < rows; r++)
        {
            var row = table.AsSpan(r * dim, dim);
            float max = MathF.Abs(TensorPrimitives.MaxMagnitude(row));
            if (!float.IsFinite(max)) throw new ModelFormatException($"word embedding row {r} holds a non-finite value");
            float inv = max > 0 ? 127f / max : 0f;
            _scales[r] = max / 127f;
            for (int i = 0; i < dim; i++) _int8[r * dim + i] = (sbyte)Int8Quantizer.Round(row[i] * inv);
        }
    }

    /// <summary>Bytes the table holds.</summary>
    public long Bytes => _fp32 != null ? 4L * _fp32.LongLength : _int8!.LongLength + 4L * _scales!.LongLength;

    /// <summary>dst = word[id] + other.</summary>
    public void AddTo(int id, ReadOnlySpan<float> other, Span<float> dst)
    {
        if (_fp32 != null)
        {
            TensorPrimitives.Add(_fp32.AsSpan(id * _dim, _dim), other, dst);
            return;
        }
        var q = _int8.AsSpan(id * _dim, _dim);
        float scale = _scales![id];
        for (int i = 0; i < _dim; i++) dst[i] = q[i] * scale + other[i];
    }
}
