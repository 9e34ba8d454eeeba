using System.Buffers;
using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace RepShift.Loading;

/// <summary>
/// Writes float tensors as a safetensors file that <see cref="SafeTensorsFile"/> and the Python
/// <c>safetensors</c> package read: tensors stored one after another in the given order, the header
/// padded with spaces so the data section starts 8-byte aligned.
/// </summary>
public static class SafeTensorsWriter
{
    /// <summary>
    /// Writes to <paramref name="path"/> through a temporary file renamed at the end, so an interrupted
    /// write never leaves a half-written file under the real name. <paramref name="dtype"/> is F32, F16,
    /// BF16 or F64 (F16 and BF16 round to nearest even); <paramref name="metadata"/> goes to "__metadata__".
    /// </summary>
    public static void Write(string path, IEnumerable<(string Name, int[] Shape, float[] Data)> tensors,
        SafeTensorsDType dtype = SafeTensorsDType.F32, IReadOnlyDictionary<string, string>? metadata = null)
    {
        string temporary = path + ".tmp";
        try
        {
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
                Write(file, tensors, dtype, metadata);
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>Writes the file to <paramref name="stream"/> at its current position.</summary>
    public static void Write(Stream stream, IEnumerable<(string Name, int[] Shape, float[] Data)> tensors,
        SafeTensorsDType dtype = SafeTensorsDType.F32, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        if (!dtype.IsReadableAsFloat())
            throw new ArgumentException($"cannot write floats as {dtype.HeaderName()}; use F32, F16, BF16 or F64", nameof(dtype));
        var list = tensors.ToList();
        byte[] header = Header(list, dtype, metadata);

        // The format allows trailing spaces in the header; padding them keeps every tensor 8-byte aligned.
        int padded = (header.Length + 7) & ~7;
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
        stream.Write(length);
        stream.Write(header);
        for (int i = header.Length; i < padded; i++) stream.WriteByte((byte)' ');

        foreach (var (_, _, data) in list) WriteData(stream, data, dtype);
        stream.Flush();
    }

    private static byte[] Header(List<(string Name, int[] Shape, float[] Data)> tensors, SafeTensorsDType dtype, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata) json.WriteString(key, value);
                json.WriteEndObject();
            }
            var seen = new HashSet<string>(StringComparer.Ordinal);
            long offset = 0;
            foreach (var (name, shape, data) in tensors)
            {
                if (string.IsNullOrEmpty(name) || name == "__metadata__") throw new ArgumentException($"'{name}' cannot be a tensor name");
                if (!seen.Add(name)) throw new ArgumentException($"tensor '{name}' is given twice");
                long count = 1;
                foreach (int d in shape)
                {
                    if (d < 0) throw new ArgumentException($"tensor '{name}': shape {SafeTensorsFile.FormatShape(shape)} has a negative dimension");
                    count = checked(count * d);
                }
                if (count != data.Length)
                    throw new ArgumentException($"tensor '{name}': shape {SafeTensorsFile.FormatShape(shape)} has {count} elements but {data.Length} values were given");
                long end = offset + count * dtype.Size();
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype.HeaderName());
                json.WriteStartArray("shape");
                foreach (int d in shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(end);
                json.WriteEndArray();
                json.WriteEndObject();
                offset = end;
            }
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteData(Stream stream, float[] data, SafeTensorsDType dtype)
    {
        if (dtype == SafeTensorsDType.F32 && BitConverter.IsLittleEndian)
        {
            const int Piece = 1 << 28; // keeps each byte view under 2 GB
            for (int i = 0; i < data.Length; i += Piece)
                stream.Write(MemoryMarshal.AsBytes(data.AsSpan(i, Math.Min(Piece, data.Length - i))));
            return;
        }
        int size = dtype.Size();
        const int ChunkBytes = 1 << 18;
        int perChunk = ChunkBytes / size;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            for (int i = 0; i < data.Length; i += perChunk)
            {
                int n = Math.Min(perChunk, data.Length - i);
                Encode(data.AsSpan(i, n), dtype, buffer.AsSpan(0, n * size));
                stream.Write(buffer, 0, n * size);
            }
        }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
    }

    private static void Encode(ReadOnlySpan<float> values, SafeTensorsDType dtype, Span<byte> raw)
    {
        switch (dtype)
        {
            case SafeTensorsDType.F32:
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(raw[(4 * i)..], values[i]);
                break;
            case SafeTensorsDType.F16 when BitConverter.IsLittleEndian:
                TensorPrimitives.ConvertToHalf(values, MemoryMarshal.Cast<byte, Half>(raw));
                break;
            case SafeTensorsDType.F16:
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(raw[(2 * i)..], (Half)values[i]);
                break;
            case SafeTensorsDType.BF16:
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(raw[(2 * i)..], ToBFloat16(values[i]));
                break;
            case SafeTensorsDType.F64:
                for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(raw[(8 * i)..], values[i]);
                break;
            default:
                throw new InvalidOperationException($"no float encoding for {dtype}");
        }
    }

    /// <summary>float → bfloat16 bits, rounding to nearest even (as PyTorch does); NaN stays a quiet NaN.</summary>
    internal static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x0040);
        uint roundingBias = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }
}
