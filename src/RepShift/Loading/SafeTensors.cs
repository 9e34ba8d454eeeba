using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace RepShift.Loading;

/// <summary>One tensor's header entry. <see cref="Begin"/> and <see cref="End"/> are byte offsets into the data section.</summary>
public sealed record SafeTensorInfo(string Name, SafeTensorsDType DType, IReadOnlyList<int> Shape, long Begin, long End)
{
    /// <summary>Product of the shape (1 for a scalar).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (int d in Shape) n *= d; // cannot overflow: checked against the byte length when the header was read
            return n;
        }
    }
}

/// <summary>
/// A strict reader of the safetensors format: an 8-byte little-endian header length, a JSON header
/// mapping names to {dtype, shape, data_offsets} (plus optional string-to-string "__metadata__"), then the
/// data section. Everything is checked when the file is opened: header length against the file, every
/// entry's dtype, shape and offsets, byte lengths against shapes, and that no two tensors overlap; any
/// problem is a <see cref="ModelFormatException"/> naming the file, the tensor, and expected vs found.
/// Tensor data is read on demand, once, straight into the result (no copy of the file is held).
/// </summary>
public sealed class SafeTensorsFile : IDisposable
{
    /// <summary>Headers above this are refused: a real header is kilobytes, a garbage length could ask for gigabytes.</summary>
    public const long MaxHeaderBytes = 100L * 1024 * 1024;

    private const string MetadataKey = "__metadata__";
    private readonly SafeTensorsByteSource _bytes;
    private readonly Dictionary<string, SafeTensorInfo> _tensors = new(StringComparer.Ordinal);
    private readonly List<string> _names = [];
    private readonly Dictionary<string, string> _metadata = new(StringComparer.Ordinal);
    private readonly long _dataStart;

    private SafeTensorsFile(SafeTensorsByteSource bytes, string source)
    {
        _bytes = bytes;
        Source = source;
        long fileLength = bytes.Length;
        if (fileLength < 8) throw Error($"the file is {fileLength} bytes; a safetensors file starts with an 8-byte header length");
        Span<byte> prefix = stackalloc byte[8];
        ReadRaw(0, prefix, "the header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > (ulong)(fileLength - 8))
            throw Error($"the header length field says {headerLength} bytes but only {fileLength - 8} follow it; the file is truncated or not safetensors");
        if (headerLength > MaxHeaderBytes)
            throw Error($"the header length field says {headerLength} bytes, above the {MaxHeaderBytes}-byte limit for a safetensors header; the file is corrupt or not safetensors");
        var header = new byte[headerLength];
        ReadRaw(8, header, "the header");
        _dataStart = 8 + (long)headerLength;
        DataLength = fileLength - _dataStart;
        ParseHeader(header);
        CheckNoOverlap();
    }

    /// <summary>Opens a file; only the header is read now. Dispose to close it.</summary>
    public static SafeTensorsFile Open(string path)
    {
        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFormatException($"{path}: cannot open the safetensors file ({e.Message})", e);
        }
        var source = new FileByteSource(handle);
        try { return new SafeTensorsFile(source, path); }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads from a stream whose current position is the start of the file. A seekable stream is read on
    /// demand (it must stay open and unmodified while this object is used); any other stream is copied once.
    /// </summary>
    public static SafeTensorsFile Read(Stream stream, string source = "safetensors stream", bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var bytes = new StreamByteSource(stream, leaveOpen);
        try { return new SafeTensorsFile(bytes, source); }
        catch
        {
            bytes.Dispose();
            throw;
        }
    }

    /// <summary>The path or name used in error messages.</summary>
    public string Source { get; }

    /// <summary>Tensor names in header order.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>The "__metadata__" entries; empty when the header has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata => _metadata;

    /// <summary>Bytes after the header.</summary>
    public long DataLength { get; }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public bool TryGetInfo(string name, [MaybeNullWhen(false)] out SafeTensorInfo info) => _tensors.TryGetValue(name, out info);

    /// <summary>The header entry of <paramref name="name"/>; a <see cref="ModelFormatException"/> if there is none.</summary>
    public SafeTensorInfo Info(string name) =>
        _tensors.TryGetValue(name, out var info) ? info : throw Error($"no tensor named '{name}' (the file has {_names.Count} tensors)");

    /// <summary>A copy of the tensor's shape.</summary>
    public int[] Shape(string name) => [.. Info(name).Shape];

    /// <summary>The tensor's values converted to float (F32 as is; F16, BF16 and F64 converted exactly or rounded to nearest).</summary>
    public float[] ReadFloats(string name)
    {
        var info = Info(name);
        if (!info.DType.IsReadableAsFloat())
            throw Error($"tensor '{name}' has dtype {info.DType.HeaderName()}; expected a floating type (F32, F16, BF16 or F64)");
        long count = info.ElementCount;
        if (count > Array.MaxLength) throw Error($"tensor '{name}' has {count} elements, more than one array can hold ({Array.MaxLength})");
        var result = new float[count];
        long offset = _dataStart + info.Begin;
        string what = $"tensor '{name}'";
        if (info.DType == SafeTensorsDType.F32) ReadF32(offset, result, what);
        else ReadConverted(offset, info.DType, result, what);
        return result;
    }

    public void Dispose() => _bytes.Dispose();

    private void ReadF32(long offset, float[] result, string what)
    {
        // Straight into the result, in pieces so the byte view of one piece stays under 2 GB.
        const int Piece = 1 << 28;
        for (int i = 0; i < result.Length; i += Piece)
        {
            var dst = result.AsSpan(i, Math.Min(Piece, result.Length - i));
            ReadRaw(offset + 4L * i, MemoryMarshal.AsBytes(dst), what);
            if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<float, int>(dst), MemoryMarshal.Cast<float, int>(dst));
        }
    }

    private void ReadConverted(long offset, SafeTensorsDType dtype, float[] result, string what)
    {
        int size = dtype.Size();
        const int ChunkBytes = 1 << 18;
        int perChunk = ChunkBytes / size;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            for (int i = 0; i < result.Length; i += perChunk)
            {
                int n = Math.Min(perChunk, result.Length - i);
                var raw = buffer.AsSpan(0, n * size);
                ReadRaw(offset + (long)size * i, raw, what);
                Convert(dtype, raw, result.AsSpan(i, n));
            }
        }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
    }

    private static void Convert(SafeTensorsDType dtype, ReadOnlySpan<byte> raw, Span<float> dst)
    {
        switch (dtype)
        {
            case SafeTensorsDType.F16 when BitConverter.IsLittleEndian:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(raw), dst);
                break;
            case SafeTensorsDType.F16:
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(raw[(2 * i)..]);
                break;
            case SafeTensorsDType.BF16:
                // bfloat16 is the top half of a float32: shifting the bits up is the exact conversion.
                for (int i = 0; i < dst.Length; i++)
                    dst[i] = BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * i)..]) << 16);
                break;
            case SafeTensorsDType.F64:
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(raw[(8 * i)..]);
                break;
            default:
                throw new InvalidOperationException($"no float conversion for {dtype}");
        }
    }

    private void ReadRaw(long offset, Span<byte> destination, string what)
    {
        try { _bytes.ReadExactly(offset, destination); }
        catch (EndOfStreamException e)
        {
            throw Error($"the file ended while reading {what} ({destination.Length} bytes at offset {offset}); was it truncated or changed after opening?", e);
        }
        catch (IOException e)
        {
            throw Error($"reading {what} failed ({e.Message})", e);
        }
    }

    private void ParseHeader(byte[] header)
    {
        // JsonDocument defers UTF-8 checks of names until they are read; check up front so bad bytes are a format error.
        if (!System.Text.Unicode.Utf8.IsValid(header)) throw Error("the header is not valid UTF-8 text, so not valid JSON");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw Error($"the header is not valid JSON ({e.Message})", e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Error($"the header must be a JSON object mapping tensor names to {{dtype, shape, data_offsets}}, found {Describe(root.ValueKind)}");
            bool sawMetadata = false;
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name == MetadataKey)
                {
                    if (sawMetadata) throw Error($"\"{MetadataKey}\" appears twice in the header");
                    sawMetadata = true;
                    ParseMetadata(property.Value);
                    continue;
                }
                if (_tensors.ContainsKey(property.Name)) throw Error($"tensor '{property.Name}' appears twice in the header");
                var info = ParseEntry(property.Name, property.Value);
                _tensors.Add(info.Name, info);
                _names.Add(info.Name);
            }
        }
    }

    private void ParseMetadata(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Error($"\"{MetadataKey}\" must be an object of strings, found {Describe(value.ValueKind)}");
        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw Error($"\"{MetadataKey}\" entry '{entry.Name}' must be a string, found {Describe(entry.Value.ValueKind)}");
            if (!_metadata.TryAdd(entry.Name, entry.Value.GetString()!))
                throw Error($"\"{MetadataKey}\" entry '{entry.Name}' appears twice");
        }
    }

    private SafeTensorInfo ParseEntry(string name, JsonElement entry)
    {
        string t = $"tensor '{name}'";
        if (entry.ValueKind != JsonValueKind.Object)
            throw Error($"{t}: expected an object with dtype, shape and data_offsets, found {Describe(entry.ValueKind)}");

        if (!entry.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw Error($"{t}: expected a string \"dtype\", found {DescribeProperty(entry, "dtype")}");
        string dtypeText = dtypeElement.GetString()!;
        if (!SafeTensorsDTypes.TryParse(dtypeText, out var dtype))
            throw Error($"{t}: unknown dtype '{dtypeText}'; expected one of {SafeTensorsDTypes.Known}");

        if (!entry.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw Error($"{t}: expected a \"shape\" array of non-negative integers, found {DescribeProperty(entry, "shape")}");
        var shape = new int[shapeElement.GetArrayLength()];
        int k = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt32(out int d) || d < 0)
                throw Error($"{t}: shape entry {k} must be an integer in [0, {int.MaxValue}], found {dim.GetRawText()}");
            shape[k++] = d;
        }

        if (!entry.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array || offsetsElement.GetArrayLength() != 2)
            throw Error($"{t}: expected \"data_offsets\" as [begin, end], found {DescribeProperty(entry, "data_offsets")}");
        long begin = Offset(offsetsElement[0], t), end = Offset(offsetsElement[1], t);
        string offsets = $"data_offsets [{begin}, {end}]";
        if (end < begin) throw Error($"{t}: {offsets} end before they begin");
        if (end > DataLength)
            throw Error($"{t}: {offsets} reach past the data section, which has {DataLength} bytes; the file is truncated or the header is wrong");

        long expected = ByteLength(shape, dtype, t);
        if (end - begin != expected)
            throw Error($"{t}: shape {FormatShape(shape)} of {dtype.HeaderName()} needs {expected} bytes but {offsets} hold {end - begin}");
        return new SafeTensorInfo(name, dtype, shape, begin, end);
    }

    private long Offset(JsonElement e, string t)
    {
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long v) || v < 0)
            throw Error($"{t}: data_offsets must be non-negative integers, found {e.GetRawText()}");
        return v;
    }

    private long ByteLength(int[] shape, SafeTensorsDType dtype, string t)
    {
        if (Array.IndexOf(shape, 0) >= 0) return 0;
        long bytes = dtype.Size();
        foreach (int d in shape)
        {
            // Anything this large cannot fit in the data section anyway; refuse instead of overflowing.
            if (bytes > long.MaxValue / d) throw Error($"{t}: shape {FormatShape(shape)} is too large to exist in a file");
            bytes *= d;
        }
        return bytes;
    }

    private void CheckNoOverlap()
    {
        var byStart = new SafeTensorInfo[_names.Count];
        for (int i = 0; i < byStart.Length; i++) byStart[i] = _tensors[_names[i]];
        Array.Sort(byStart, (a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        SafeTensorInfo? last = null;
        foreach (var cur in byStart)
        {
            // Empty tensors occupy no bytes; they may sit anywhere, even at a neighbour's offset.
            if (cur.Begin == cur.End) continue;
            if (last is not null && cur.Begin < last.End)
                throw Error($"tensors '{last.Name}' (data_offsets [{last.Begin}, {last.End}]) and '{cur.Name}' (data_offsets [{cur.Begin}, {cur.End}]) overlap; each tensor needs its own bytes");
            last = cur; // sorted by begin and not overlapping, so it reaches furthest
        }
    }

    internal static string FormatShape(IReadOnlyList<int> shape) => "[" + string.Join(", ", shape) + "]";

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };

    private static string DescribeProperty(JsonElement entry, string key) =>
        entry.TryGetProperty(key, out var v) ? v.GetRawText() : "nothing";

    private ModelFormatException Error(string message, Exception? inner = null) =>
        inner is null ? new ModelFormatException($"{Source}: {message}") : new ModelFormatException($"{Source}: {message}", inner);
}
