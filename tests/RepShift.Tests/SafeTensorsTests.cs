using System.Buffers.Binary;
using System.Text;
using RepShift.Loading;

namespace RepShift.Tests;

public class SafeTensorsTests
{
    private static readonly float[] SpecialFloats =
        [0f, -0f, 1f, -1f, float.MaxValue, float.MinValue, float.Epsilon, 1e-40f, float.PositiveInfinity, float.NegativeInfinity, float.NaN];

    [Fact]
    public void F32_round_trip_is_bit_exact_with_names_shapes_and_metadata()
    {
        using var dir = new TempDirectory();
        var rng = new Random(1);
        var a = RandomFloats(rng, 6);
        float[] scalar = [3.25f];
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode ✓" };
        string path = dir.File("m.safetensors");
        SafeTensorsWriter.Write(path, [("a", [2, 3], a), ("special", [SpecialFloats.Length], SpecialFloats), ("scalar", [], scalar), ("empty", [0, 4], [])],
            SafeTensorsDType.F32, metadata);

        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(["a", "special", "scalar", "empty"], file.Names);
        Assert.Equal([2, 3], file.Shape("a"));
        Assert.Equal([0, 4], file.Shape("empty"));
        Assert.Empty(file.Shape("scalar"));
        Assert.Equal(metadata, file.Metadata);
        Assert.Equal(SafeTensorsDType.F32, file.Info("a").DType);
        AssertBitsEqual(a, file.ReadFloats("a"));
        AssertBitsEqual(SpecialFloats, file.ReadFloats("special"));
        AssertBitsEqual(scalar, file.ReadFloats("scalar"));
        Assert.Empty(file.ReadFloats("empty"));
    }

    [Fact]
    public void F16_round_trip_is_exact_for_values_representable_in_half()
    {
        var rng = new Random(2);
        var values = new float[200];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(Half)(rng.NextSingle() * 200 - 100);
        float[] special = [0f, -0f, 65504f, -65504f, MathF.Pow(2, -14), MathF.Pow(2, -24), 0.333251953125f, float.PositiveInfinity, float.NegativeInfinity];
        var read = RoundTrip(SafeTensorsDType.F16, [.. values, .. special]);
        AssertBitsEqual([.. values, .. special], read);
    }

    [Fact]
    public void F16_writer_rounds_to_nearest_even()
    {
        float ulp = MathF.Pow(2, -10); // spacing of half values in [1, 2)
        float[] input = [1 + ulp / 2, 1 + 3 * ulp / 2, 1 + ulp / 2 + ulp / 16, 70000f];
        float[] expected = [1f, 1 + 2 * ulp, 1 + ulp, float.PositiveInfinity];
        AssertBitsEqual(expected, RoundTrip(SafeTensorsDType.F16, input));
    }

    [Fact]
    public void BF16_round_trip_is_exact_for_values_representable_in_bfloat16()
    {
        var rng = new Random(3);
        var values = new float[200];
        for (int i = 0; i < values.Length; i++)
            values[i] = BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits((rng.NextSingle() - 0.5f) * 1e6f) & 0xFFFF0000u);
        float[] special = [0f, -0f, 1f, -2f, MathF.Pow(2, -126), MathF.Pow(2, -133), BitConverter.UInt32BitsToSingle(0x7F7F0000u), float.PositiveInfinity, float.NegativeInfinity];
        AssertBitsEqual([.. values, .. special], RoundTrip(SafeTensorsDType.BF16, [.. values, .. special]));
    }

    [Fact]
    public void BF16_writer_rounds_to_nearest_even_and_keeps_NaN()
    {
        float ulp = MathF.Pow(2, -7); // spacing of bfloat16 values in [1, 2)
        float[] input = [1 + ulp / 2, 1 + 3 * ulp / 2, 1 + ulp / 2 + ulp / 64, -(1 + ulp / 2 + ulp / 64), float.NaN];
        float[] read = RoundTrip(SafeTensorsDType.BF16, input);
        AssertBitsEqual([1f, 1 + 2 * ulp, 1 + ulp, -(1 + ulp)], read[..4]);
        Assert.True(float.IsNaN(read[4]));
    }

    [Fact]
    public void F64_round_trip_is_exact_for_float_values()
    {
        var values = RandomFloats(new Random(4), 50);
        AssertBitsEqual([.. values, .. SpecialFloats], RoundTrip(SafeTensorsDType.F64, [.. values, .. SpecialFloats]));
    }

    [Theory]
    [InlineData("a")]
    [InlineData("ab")]
    [InlineData("abcdefg")]
    [InlineData("a.long.tensor.name.weight")]
    public void Header_is_padded_with_spaces_so_data_starts_8_byte_aligned(string name)
    {
        using var stream = new MemoryStream();
        SafeTensorsWriter.Write(stream, [(name, [3], new float[] { 1, 2, 3 })]);
        byte[] bytes = stream.ToArray();
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, headerLength % 8);
        Assert.Equal(8 + (long)headerLength + 12, bytes.Length);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
        Assert.StartsWith("{", header);
        Assert.EndsWith("}", header.TrimEnd(' '));
        Assert.True(header.Length - header.TrimEnd(' ').Length < 8);
    }

    [Fact]
    public void Reads_from_a_non_seekable_stream()
    {
        using var buffer = new MemoryStream();
        float[] values = [1.5f, -2f, 7f];
        SafeTensorsWriter.Write(buffer, [("w", [3], values)], SafeTensorsDType.F16);
        using var file = SafeTensorsFile.Read(new ForwardOnlyStream(buffer.ToArray()), "pipe");
        AssertBitsEqual(values, file.ReadFloats("w"));
    }

    [Fact]
    public void Non_float_dtypes_open_but_are_refused_as_floats()
    {
        using var dir = new TempDirectory();
        string path = dir.File("ids.safetensors");
        File.WriteAllBytes(path, Raw("""{"position_ids":{"dtype":"I64","shape":[1,2],"data_offsets":[0,16]},"w":{"dtype":"F32","shape":[1],"data_offsets":[16,20]}}""", 20));
        using var file = SafeTensorsFile.Open(path);
        Assert.Equal([0f], file.ReadFloats("w"));
        var e = Assert.Throws<ModelFormatException>(() => file.ReadFloats("position_ids"));
        Assert.Contains(path, e.Message);
        Assert.Contains("'position_ids'", e.Message);
        Assert.Contains("I64", e.Message);
    }

    [Fact]
    public void Unknown_tensor_name_is_a_model_format_error()
    {
        using var stream = new MemoryStream();
        SafeTensorsWriter.Write(stream, [("w", [1], new float[] { 1 })]);
        stream.Position = 0;
        using var file = SafeTensorsFile.Read(stream, "mem");
        var e = Assert.Throws<ModelFormatException>(() => file.ReadFloats("missing"));
        Assert.Contains("'missing'", e.Message);
    }

    [Fact]
    public void Empty_tensors_may_share_offsets_with_each_other_and_with_neighbours()
    {
        byte[] bytes = Raw("""{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"c":{"dtype":"F16","shape":[0,3],"data_offsets":[4,4]}}""", 8);
        using var file = SafeTensorsFile.Read(new MemoryStream(bytes), "mem");
        Assert.Equal(3, file.Names.Count);
    }

    [Fact]
    public void Overlap_hidden_behind_an_empty_tensor_is_still_found()
    {
        byte[] bytes = Raw("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"c":{"dtype":"F32","shape":[2],"data_offsets":[6,14]}}""", 16);
        var e = Assert.Throws<ModelFormatException>(() => SafeTensorsFile.Read(new MemoryStream(bytes), "mem"));
        Assert.Contains("'a'", e.Message);
        Assert.Contains("'c'", e.Message);
    }

    public static TheoryData<string, byte[], string[]> CorruptFiles()
    {
        // A two-float F32 entry with the given data_offsets text.
        static string F32x2(string name, string offsets) => $"\"{name}\":{{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":{offsets}}}";
        var data = new TheoryData<string, byte[], string[]>
        {
            { "shorter than 8 bytes", [1, 2, 3, 4, 5], ["5 bytes", "8-byte"] },
            { "header length beyond the file", Raw("{}", 2, lengthOverride: 1000), ["1000", "truncated"] },
            { "invalid JSON", Raw("""{"w": {"dtype": """, 0), ["not valid JSON"] },
            { "invalid UTF-8", Raw([(byte)'{', (byte)'"', 0xFF, (byte)'"', (byte)':', (byte)'1', (byte)'}'], 0), ["not valid JSON"] },
            { "header not an object", Raw("[1, 2]", 0), ["JSON object", "an array"] },
            { "entry not an object", Raw("""{"w": 3}""", 0), ["'w'", "a number"] },
            { "unknown dtype", Raw("""{"w":{"dtype":"F17","shape":[2],"data_offsets":[0,8]}}""", 8), ["'w'", "'F17'", "F32"] },
            { "missing dtype", Raw("""{"w":{"shape":[2],"data_offsets":[0,8]}}""", 8), ["'w'", "dtype"] },
            { "negative dimension", Raw("""{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}""", 8), ["'w'", "shape entry 0", "-2"] },
            { "fractional dimension", Raw("""{"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}""", 8), ["'w'", "2.5"] },
            { "one offset", Raw("{" + F32x2("w", "[8]") + "}", 8), ["'w'", "[begin, end]"] },
            { "offsets beyond the data", Raw("{" + F32x2("w", "[8,16]") + "}", 8), ["'w'", "[8, 16]", "8 bytes"] },
            { "end before begin", Raw("{" + F32x2("w", "[8,0]") + "}", 8), ["'w'", "[8, 0]", "end before"] },
            { "byte length not matching shape", Raw("""{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 12), ["'w'", "[3]", "needs 12 bytes", "hold 8"] },
            { "overlapping tensors", Raw("{" + F32x2("a", "[0,8]") + "," + F32x2("b", "[4,12]") + "}", 12), ["'a'", "'b'", "overlap"] },
            { "duplicate tensor", Raw("{" + F32x2("a", "[0,8]") + "," + F32x2("a", "[8,16]") + "}", 16), ["'a'", "twice"] },
            { "metadata not strings", Raw("""{"__metadata__":{"epoch":3}}""", 0), ["__metadata__", "'epoch'", "a number"] },
        };
        // A real file whose data section lost its last bytes.
        using var stream = new MemoryStream();
        SafeTensorsWriter.Write(stream, [("first", [2], new float[] { 1, 2 }), ("last", [4], new float[] { 1, 2, 3, 4 })]);
        data.Add("truncated data section", stream.ToArray()[..^3], ["'last'", "past the data section", "truncated"]);
        return data;
    }

    [Theory]
    [MemberData(nameof(CorruptFiles))]
    public void Corrupt_file_is_a_model_format_error_naming_the_file_and_the_problem(string what, byte[] bytes, string[] expected)
    {
        using var dir = new TempDirectory();
        string path = dir.File("corrupt.safetensors");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ModelFormatException>(() => SafeTensorsFile.Open(path));
        Assert.StartsWith(path + ": ", e.Message);
        foreach (string fragment in expected) Assert.True(e.Message.Contains(fragment, StringComparison.Ordinal), $"{what}: '{fragment}' not in: {e.Message}");

        // The stream entry point applies the same checks.
        var fromStream = Assert.Throws<ModelFormatException>(() => SafeTensorsFile.Read(new MemoryStream(bytes), "in-memory"));
        Assert.Equal(e.Message.Replace(path, "in-memory"), fromStream.Message);
    }

    [Fact]
    public void Header_length_above_the_limit_is_refused_even_when_the_file_is_that_long()
    {
        using var dir = new TempDirectory();
        string path = dir.File("huge.safetensors");
        using (var f = new FileStream(path, FileMode.Create))
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)SafeTensorsFile.MaxHeaderBytes + 8);
            f.Write(length);
            f.SetLength(SafeTensorsFile.MaxHeaderBytes + 64); // sparse: costs no disk
        }
        var e = Assert.Throws<ModelFormatException>(() => SafeTensorsFile.Open(path));
        Assert.Contains("limit", e.Message);
    }

    [Fact]
    public void Missing_file_is_a_model_format_error()
    {
        using var dir = new TempDirectory();
        string path = dir.File("nope.safetensors");
        var e = Assert.Throws<ModelFormatException>(() => SafeTensorsFile.Open(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Writer_rejects_shape_and_data_that_disagree()
    {
        using var stream = new MemoryStream();
        var e = Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(stream, [("w", [2, 2], new float[3])]));
        Assert.Contains("'w'", e.Message);
        Assert.Equal(0, stream.Length);
    }

    private static float[] RoundTrip(SafeTensorsDType dtype, float[] values)
    {
        using var stream = new MemoryStream();
        SafeTensorsWriter.Write(stream, [("t", [values.Length], values)], dtype);
        stream.Position = 0;
        using var file = SafeTensorsFile.Read(stream, "mem");
        Assert.Equal(dtype, file.Info("t").DType);
        Assert.Equal(values.Length * dtype.Size(), file.DataLength);
        return file.ReadFloats("t");
    }

    private static float[] RandomFloats(Random rng, int n)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (rng.NextSingle() - 0.5f) * MathF.Pow(10, rng.Next(-20, 20));
        return v;
    }

    private static void AssertBitsEqual(float[] expected, float[] actual) =>
        Assert.Equal(Array.ConvertAll(expected, BitConverter.SingleToInt32Bits), Array.ConvertAll(actual, BitConverter.SingleToInt32Bits));

    /// <summary>8-byte length, the header text as given, then <paramref name="dataBytes"/> zero bytes.</summary>
    private static byte[] Raw(string header, int dataBytes, ulong? lengthOverride = null) => Raw(Encoding.UTF8.GetBytes(header), dataBytes, lengthOverride);

    private static byte[] Raw(byte[] h, int dataBytes, ulong? lengthOverride = null)
    {
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, lengthOverride ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        return bytes;
    }

    /// <summary>A read-only stream that cannot seek, like a pipe.</summary>
    private sealed class ForwardOnlyStream(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
