using System.Buffers.Binary;
using System.IO.Compression;

namespace RepShift.Vision;

/// <summary>
/// Reads MNIST-style IDX files (plain or .gz): images (magic 0x803, count × rows × cols bytes) and labels
/// (magic 0x801). A folder holding train-/t10k- pairs (Fashion-MNIST's names) is read as its train or test split.
/// </summary>
public static class IdxReader
{
    /// <summary>Fashion-MNIST's classes in label order.</summary>
    public static readonly string[] FashionMnistClasses =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Whether <paramref name="folder"/> holds IDX files for <paramref name="split"/> ("train" or "t10k").</summary>
    public static bool HasSplit(string folder, string split) => Find(folder, split, "images-idx3-ubyte") != null;

    /// <summary>The <paramref name="split"/> ("train" or "t10k") of an IDX folder; classes named as Fashion-MNIST's when there are 10.</summary>
    public static LabelledImages ReadSplit(string folder, string split, string[]? classNames = null)
    {
        string images = Find(folder, split, "images-idx3-ubyte") ?? throw new RepShiftException($"{folder}: no {split}-images-idx3-ubyte[.gz] file");
        string labels = Find(folder, split, "labels-idx1-ubyte") ?? throw new RepShiftException($"{folder}: no {split}-labels-idx1-ubyte[.gz] file");
        var (pixels, count, rows, cols) = ReadImages(images);
        var y = ReadLabels(labels);
        if (y.Length != count) throw new RepShiftException($"{labels}: {y.Length} labels for {count} images in {images}");
        int classes = y.Length == 0 ? 0 : y.Max() + 1;
        classNames ??= classes <= 10 ? FashionMnistClasses[..Math.Max(classes, 0)] : [.. Enumerable.Range(0, classes).Select(i => i.ToString())];
        return new LabelledImages { Width = cols, Height = rows, Channels = 1, Pixels = pixels, Labels = y, ClassNames = classNames };
    }

    private static string? Find(string folder, string split, string kind)
    {
        foreach (string name in new[] { $"{split}-{kind}", $"{split}-{kind}.gz", $"{split}-{kind.Replace("-idx", ".idx")}", $"{split}-{kind.Replace("-idx", ".idx")}.gz" })
        {
            string path = Path.Combine(folder, name);
            if (File.Exists(path)) return path;
        }
        return null;
    }

    public static (byte[] Pixels, int Count, int Rows, int Cols) ReadImages(string path)
    {
        var data = ReadAll(path);
        if (data.Length < 16 || BinaryPrimitives.ReadInt32BigEndian(data) != 0x803) throw new RepShiftException($"{path}: not an IDX image file (magic 0x00000803)");
        int count = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4)), rows = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(8)), cols = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(12));
        if (count < 0 || rows <= 0 || cols <= 0 || data.Length - 16L != (long)count * rows * cols)
            throw new RepShiftException($"{path}: header says {count} images of {rows}×{cols}, but the file holds {data.Length - 16} pixel bytes");
        return (data[16..], count, rows, cols);
    }

    public static int[] ReadLabels(string path)
    {
        var data = ReadAll(path);
        if (data.Length < 8 || BinaryPrimitives.ReadInt32BigEndian(data) != 0x801) throw new RepShiftException($"{path}: not an IDX label file (magic 0x00000801)");
        int count = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4));
        if (count < 0 || data.Length - 8L != count) throw new RepShiftException($"{path}: header says {count} labels, the file holds {data.Length - 8}");
        return [.. data.AsSpan(8).ToArray().Select(b => (int)b)];
    }

    private static byte[] ReadAll(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            using Stream s = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
            using var m = new MemoryStream();
            s.CopyTo(m);
            return m.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new RepShiftException($"{path}: not a valid gzip file ({e.Message})", e);
        }
    }
}
