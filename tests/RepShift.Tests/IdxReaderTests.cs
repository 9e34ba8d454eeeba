using System.Buffers.Binary;
using System.IO.Compression;
using RepShift.Vision;

namespace RepShift.Tests;

/// <summary>The IDX reader on files written here byte by byte: plain and gzip, split folders, and broken headers.</summary>
public class IdxReaderTests
{
    private static byte[] Images(int count, int rows, int cols, Func<int, byte> pixel, int? claimedCount = null)
    {
        var data = new byte[16 + count * rows * cols];
        BinaryPrimitives.WriteInt32BigEndian(data, 0x803);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(4), claimedCount ?? count);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(12), cols);
        for (int i = 16; i < data.Length; i++) data[i] = pixel(i - 16);
        return data;
    }

    private static byte[] Labels(params byte[] labels)
    {
        var data = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(data, 0x801);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(4), labels.Length);
        labels.CopyTo(data, 8);
        return data;
    }

    private static byte[] Gzip(byte[] data)
    {
        using var m = new MemoryStream();
        using (var z = new GZipStream(m, CompressionLevel.Fastest)) z.Write(data);
        return m.ToArray();
    }

    [Fact]
    public void ReadsAGzippedSplitFolder()
    {
        using var dir = new TempDirectory();
        dir.WriteBytes("t10k-images-idx3-ubyte.gz", Gzip(Images(3, 2, 4, i => (byte)(i * 7))));
        dir.WriteBytes("t10k-labels-idx1-ubyte.gz", Gzip(Labels(2, 0, 9)));
        Assert.True(IdxReader.HasSplit(dir.Path, "t10k"));
        Assert.False(IdxReader.HasSplit(dir.Path, "train"));

        var set = IdxReader.ReadSplit(dir.Path, "t10k");
        Assert.Equal(3, set.Count);
        Assert.Equal(4, set.Width);
        Assert.Equal(2, set.Height);
        Assert.Equal(1, set.Channels);
        Assert.Equal([2, 0, 9], set.Labels);
        // Pixels in file order: image 1, row 0, column 3 is byte 8 + 3 = 11 → 77.
        Assert.Equal(24, set.Pixels.Length);
        Assert.Equal(77, set.Pixels[11]);
        Assert.Equal(10, set.ClassNames.Length);
        Assert.Equal("Ankle boot", set.ClassNames[set.Labels[2]]);
    }

    [Fact]
    public void PlainAndGzipFilesGiveTheSameImages()
    {
        using var dir = new TempDirectory();
        var bytes = Images(2, 3, 3, i => (byte)(255 - i));
        string plain = dir.WriteBytes("a-images-idx3-ubyte", bytes);
        string gz = dir.WriteBytes("b-images-idx3-ubyte.gz", Gzip(bytes));
        var a = IdxReader.ReadImages(plain);
        var b = IdxReader.ReadImages(gz);
        Assert.Equal((2, 3, 3), (a.Count, a.Rows, a.Cols));
        Assert.Equal(bytes[16..], a.Pixels);
        Assert.Equal(a.Pixels, b.Pixels);
    }

    [Fact]
    public void BrokenFilesAreClearErrors()
    {
        using var dir = new TempDirectory();
        string shortFile = dir.WriteBytes("x-images-idx3-ubyte", Images(2, 2, 2, _ => 1, claimedCount: 3));
        Assert.Contains("header says 3 images of 2×2", Assert.Throws<RepShiftException>(() => IdxReader.ReadImages(shortFile)).Message);
        string labels = dir.WriteBytes("y-images-idx3-ubyte", Labels(1, 2));
        Assert.Contains("not an IDX image file", Assert.Throws<RepShiftException>(() => IdxReader.ReadImages(labels)).Message);
        string notGzip = dir.WriteBytes("z-labels-idx1-ubyte.gz", Labels(1, 2));
        Assert.Contains("not a valid gzip file", Assert.Throws<RepShiftException>(() => IdxReader.ReadLabels(notGzip)).Message);

        dir.WriteBytes("train-images-idx3-ubyte", Images(2, 2, 2, _ => 1));
        dir.WriteBytes("train-labels-idx1-ubyte", Labels(1));
        Assert.Contains("1 labels for 2 images", Assert.Throws<RepShiftException>(() => IdxReader.ReadSplit(dir.Path, "train")).Message);
    }
}
