using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Google.Protobuf;
using RepShift.Loading;
using RepShift.Loading.Onnx.Proto;

namespace RepShift.Cli.Benchmarks;

/// <summary>Which file of the tiny model a case mutates.</summary>
internal enum FuzzTarget { Weights, Config, Vocab, Onnx }

/// <summary>
/// Byte-level mutations: bit flips, bytes set to edge values, truncation, splices (copy, insert, delete a chunk),
/// a length field overwritten (the safetensors header length; a protobuf varint), and structured edits (a number
/// in config.json or the safetensors header replaced by an edge value; an ONNX node or tensor edited).
/// </summary>
internal enum FuzzMutation { BitFlips, SetBytes, Truncate, Splice, LengthField, Structured }

/// <summary>One case: the file, the kind of mutation and the seed of its choices (positions, values).</summary>
internal readonly record struct FuzzCase(FuzzTarget Target, FuzzMutation Mutation, int Seed)
{
    public override string ToString() => $"{Target} {Mutation} seed {Seed}";
}

internal enum FuzzOutcome { Loaded, Refused, Failed }

/// <summary>
/// What a case did. <see cref="Allocated"/>: bytes allocated on the loading thread; <see cref="InputBytes"/>:
/// the size of the model's files as loaded.
/// </summary>
internal sealed record FuzzResult(FuzzOutcome Outcome, string Detail, long Allocated, long InputBytes, TimeSpan Elapsed);

/// <summary>
/// Loads mutated copies of <see cref="TinyModelFiles"/> and sorts each outcome: it loads (and embeds a text),
/// it is refused with the engine's own load error (<see cref="RepShiftException"/>, of which
/// <see cref="ModelFormatException"/> is one), or it fails: any other exception, or more allocation than
/// <see cref="AllocationLimit"/> — which catches a length field taken at its word (a huge array allocated
/// before the file was checked to hold it). Folder cases are written to <c>folder</c>, so one fuzzer per thread.
/// </summary>
internal sealed class ModelFileFuzzer
{
    private static readonly long[] EdgeNumbers =
    [
        0, 1, -1, 2, 3, 7, 8, 16, 255, 256, 4095, 65535, 65536, int.MaxValue, int.MinValue, (long)int.MaxValue + 1,
        uint.MaxValue, 1L << 40, long.MaxValue, long.MinValue, 1_000_000_000, 2_000_000_000,
    ];

    private static readonly string[] EdgeTexts = ["1e309", "-0", "1.5", "NaN", "99999999999999999999", "\"8\"", "null", "[]", "{}", "true"];

    private static readonly string[] OpTypes = ["Add", "Mul", "Div", "MatMul", "Gather", "Reshape", "Transpose", "Softmax", "Erf", "LayerNormalization", "ReduceMean", "Sub", "Sqrt", "Pow", "Constant", "Shape", "Identity"];

    private readonly TinyModelFiles _files;
    private readonly string _folder;

    public ModelFileFuzzer(TinyModelFiles files, string folder)
    {
        _files = files;
        _folder = folder;
        files.WriteFolder(folder);
        File.WriteAllBytes(Path.Combine(folder, OnnxFile), files.Onnx);
    }

    /// <summary>The most a load may allocate: 4 bytes per input byte (the file read, floats converted and transposed) and 1 MiB for the tokenizer and JSON.</summary>
    public static long AllocationLimit(long inputBytes) => 4 * inputBytes + (1 << 20);

    public byte[] Pristine(FuzzTarget target) => target switch
    {
        FuzzTarget.Weights => _files.Weights,
        FuzzTarget.Config => _files.Config,
        FuzzTarget.Vocab => _files.VocabText,
        _ => _files.Onnx,
    };

    public FuzzResult Run(FuzzCase c)
    {
        byte[] mutated = Mutate(c, Pristine(c.Target));
        long input = c.Target == FuzzTarget.Onnx ? mutated.Length + _files.VocabText.Length
            : _files.Config.Length + _files.Weights.Length + _files.VocabText.Length - Pristine(c.Target).Length + mutated.Length;
        // The file mutated last is put back only when this case mutates another one (half the writes).
        if (_dirty is { } previous && previous != c.Target) File.WriteAllBytes(Path.Combine(_folder, FileName(previous)), Pristine(previous));
        File.WriteAllBytes(Path.Combine(_folder, FileName(c.Target)), mutated);
        _dirty = c.Target;
        return Load(c.Target, input);
    }

    private FuzzTarget? _dirty;

    private static string FileName(FuzzTarget target) => target switch
    {
        FuzzTarget.Weights => HuggingFaceFolder.WeightsFile,
        FuzzTarget.Config => HuggingFaceFolder.ConfigFile,
        FuzzTarget.Vocab => "vocab.txt",
        _ => OnnxFile,
    };

    private const string OnnxFile = "model.onnx";

    private FuzzResult Load(FuzzTarget target, long input)
    {
        var clock = Stopwatch.StartNew();
        long before = GC.GetAllocatedBytesForCurrentThread();
        ModelBundle bundle;
        try
        {
            // The ONNX file sits in the folder beside vocab.txt, as users keep it.
            bundle = target == FuzzTarget.Onnx ? ModelLoader.Load(Path.Combine(_folder, OnnxFile)) : HuggingFaceFolder.Load(_folder);
        }
        catch (Exception e)
        {
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            return Judge(e is RepShiftException ? FuzzOutcome.Refused : FuzzOutcome.Failed, Describe(e), allocated, input, clock.Elapsed);
        }
        long loadAllocated = GC.GetAllocatedBytesForCurrentThread() - before;
        try
        {
            // A model that loads must also run: a config that passed the checks but not the encoder's needs would show here.
            var embedder = new TextEmbedder(bundle, new EmbedderOptions { MaxTokens = Math.Min(8, bundle.Weights.Config.MaxPositions) });
            embedder.Embed(["the cat sat on the mat", "hello world"]);
            return Judge(FuzzOutcome.Loaded, "", loadAllocated, input, clock.Elapsed);
        }
        catch (Exception e)
        {
            return Judge(e is RepShiftException ? FuzzOutcome.Refused : FuzzOutcome.Failed, "after loading: " + Describe(e), loadAllocated, input, clock.Elapsed);
        }
    }

    private static FuzzResult Judge(FuzzOutcome outcome, string detail, long allocated, long input, TimeSpan elapsed) =>
        outcome != FuzzOutcome.Failed && allocated > AllocationLimit(input)
            ? new FuzzResult(FuzzOutcome.Failed, $"allocated {allocated:N0} bytes for {input:N0} bytes of files (limit {AllocationLimit(input):N0}); {outcome}: {detail}", allocated, input, elapsed)
            : new FuzzResult(outcome, detail, allocated, input, elapsed);

    private static string Describe(Exception e) =>
        e is RepShiftException ? e.Message : $"{e.GetType().Name}: {e.Message} at {e.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}";

    /// <summary>The mutated file; the same case always gives the same bytes.</summary>
    public static byte[] Mutate(FuzzCase c, byte[] pristine)
    {
        var rng = new Random(c.Seed);
        var bytes = (byte[])pristine.Clone();
        switch (c.Mutation)
        {
            case FuzzMutation.BitFlips:
                for (int i = 0, n = 1 + rng.Next(8); i < n; i++) bytes[rng.Next(bytes.Length)] ^= (byte)(1 << rng.Next(8));
                return bytes;
            case FuzzMutation.SetBytes:
                for (int i = 0, n = 1 + rng.Next(4); i < n; i++) bytes[rng.Next(bytes.Length)] = (byte)EdgeNumbers[rng.Next(EdgeNumbers.Length)];
                return bytes;
            case FuzzMutation.Truncate:
                return bytes[..rng.Next(bytes.Length)];
            case FuzzMutation.Splice:
                return Splice(rng, bytes);
            case FuzzMutation.LengthField:
                return c.Target switch
                {
                    FuzzTarget.Weights => HeaderLength(rng, bytes),
                    FuzzTarget.Onnx => Varint(rng, bytes),
                    _ => NumberSwap(rng, bytes),
                };
            default:
                return c.Target switch
                {
                    FuzzTarget.Weights => HeaderNumberSwap(rng, bytes),
                    FuzzTarget.Onnx => GraphEdit(rng, bytes),
                    _ => NumberSwap(rng, bytes),
                };
        }
    }

    private static byte[] Splice(Random rng, byte[] bytes)
    {
        int length = 1 + rng.Next(64), at = rng.Next(bytes.Length + 1);
        int from = rng.Next(bytes.Length), take = Math.Min(length, bytes.Length - from);
        var chunk = bytes.AsSpan(from, take).ToArray();
        var list = new List<byte>(bytes);
        switch (rng.Next(3))
        {
            case 0: // overwrite
                for (int i = 0; i < chunk.Length && at + i < list.Count; i++) list[at + i] = chunk[i];
                break;
            case 1:
                list.InsertRange(at, chunk);
                break;
            default:
                list.RemoveRange(Math.Min(at, list.Count - 1), Math.Min(length, list.Count - Math.Min(at, list.Count - 1)));
                break;
        }
        return [.. list];
    }

    /// <summary>The safetensors header length: an edge value, or off by a little.</summary>
    private static byte[] HeaderLength(Random rng, byte[] bytes)
    {
        ulong current = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        ulong value = rng.Next(2) == 0 ? (ulong)EdgeNumbers[rng.Next(EdgeNumbers.Length)] : current + (ulong)(rng.Next(17) - 8);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        return bytes;
    }

    /// <summary>A protobuf varint with an edge value written over the bytes at a random place (often a length prefix).</summary>
    private static byte[] Varint(Random rng, byte[] bytes)
    {
        ulong value = (ulong)EdgeNumbers[rng.Next(EdgeNumbers.Length)];
        var encoded = new List<byte>();
        do
        {
            byte b = (byte)(value & 0x7F);
            value >>= 7;
            encoded.Add(value != 0 ? (byte)(b | 0x80) : b);
        } while (value != 0);
        int at = rng.Next(bytes.Length);
        for (int i = 0; i < encoded.Count && at + i < bytes.Length; i++) bytes[at + i] = encoded[i];
        return bytes;
    }

    /// <summary>In JSON text: one number (or, sometimes, a whole value) replaced by an edge value.</summary>
    private static byte[] NumberSwap(Random rng, byte[] bytes)
    {
        string text = Encoding.UTF8.GetString(bytes);
        var numbers = System.Text.RegularExpressions.Regex.Matches(text, @"-?\d+(\.\d+)?([eE][-+]?\d+)?");
        if (numbers.Count == 0) return bytes;
        var m = numbers[rng.Next(numbers.Count)];
        string edge = rng.Next(4) == 0 ? EdgeTexts[rng.Next(EdgeTexts.Length)] : EdgeNumbers[rng.Next(EdgeNumbers.Length)].ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Encoding.UTF8.GetBytes(text[..m.Index] + edge + text[(m.Index + m.Length)..]);
    }

    /// <summary>A number in the safetensors header (a shape or an offset) swapped, the length prefix kept consistent.</summary>
    private static byte[] HeaderNumberSwap(Random rng, byte[] bytes)
    {
        int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = NumberSwap(rng, bytes[8..(8 + length)]);
        var result = new byte[8 + header.Length + bytes.Length - 8 - length];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)header.Length);
        header.CopyTo(result, 8);
        bytes.AsSpan(8 + length).CopyTo(result.AsSpan(8 + header.Length));
        return result;
    }

    /// <summary>One edit of the ONNX graph: a node's inputs or outputs dropped or renamed, its op changed, a node removed, a tensor's dims, type or data changed.</summary>
    private static byte[] GraphEdit(Random rng, byte[] bytes)
    {
        var model = ModelProto.Parser.ParseFrom(bytes);
        var g = model.Graph;
        var node = g.Node[rng.Next(g.Node.Count)];
        var tensor = g.Initializer[rng.Next(g.Initializer.Count)];
        switch (rng.Next(12))
        {
            case 0: if (node.Input.Count > 0) node.Input.RemoveAt(rng.Next(node.Input.Count)); break;
            case 1: node.Input.Clear(); break;
            case 2: node.Output.Clear(); break;
            case 3: node.OpType = OpTypes[rng.Next(OpTypes.Length)]; break;
            case 4: g.Node.Remove(node); break;
            case 5: if (node.Input.Count > 0) node.Input[rng.Next(node.Input.Count)] = rng.Next(2) == 0 ? "" : g.Node[rng.Next(g.Node.Count)].Output.FirstOrDefault() ?? "dangling"; break;
            case 6:
                if (tensor.Dims.Count > 0) tensor.Dims[rng.Next(tensor.Dims.Count)] = EdgeNumbers[rng.Next(EdgeNumbers.Length)];
                break;
            case 7: if (rng.Next(2) == 0) tensor.Dims.Add(EdgeNumbers[rng.Next(EdgeNumbers.Length)]); else tensor.Dims.Clear(); break;
            case 8: tensor.DataType = (int)EdgeNumbers[rng.Next(EdgeNumbers.Length)] & 0xFF; break;
            case 9: tensor.RawData = ByteString.CopyFrom(tensor.RawData.Span[..rng.Next(tensor.RawData.Length + 1)]); break;
            case 10: g.Input.Clear(); break;
            default: node.Output.Add(node.Output.FirstOrDefault() ?? "x"); g.Node.Add(node.Clone()); break;
        }
        return model.ToByteArray();
    }
}
