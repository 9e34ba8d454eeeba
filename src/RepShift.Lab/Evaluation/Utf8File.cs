using System.Buffers;
using System.Text.Unicode;

namespace RepShift.Evaluation;

/// <summary>
/// Reads data files strictly as UTF-8. A wrong byte (say a Latin-1 '£') is an error naming the file and
/// line: replacing it with U+FFFD would silently change what gets embedded.
/// </summary>
internal static class Utf8File
{
    public static string ReadAllText(string path)
    {
        if (Directory.Exists(path)) throw new RepShiftException($"{path}: is a folder; expected a file");
        if (!File.Exists(path)) throw new RepShiftException($"{path}: file not found");
        byte[] bytes = File.ReadAllBytes(path);
        ReadOnlySpan<byte> text = bytes;
        int bom = text.StartsWith("\uFEFF"u8) ? 3 : 0;
        text = text[bom..];
        // UTF-16 never needs more chars than the UTF-8 input has bytes.
        var chars = new char[text.Length];
        if (Utf8.ToUtf16(text, chars, out int read, out int written, replaceInvalidSequences: false) != OperationStatus.Done)
        {
            int line = text[..read].Count((byte)'\n') + 1;
            throw new RepShiftException($"{path}: line {line} is not valid UTF-8 (byte 0x{text[read]:X2} at offset {bom + read}); "
                + "convert the file to UTF-8, e.g. iconv -f windows-1252 -t utf-8");
        }
        return new string(chars, 0, written);
    }

    /// <summary>
    /// One document of a folder data set. Collections scraped years ago are often Latin-1 / Windows-1252 in
    /// places (BBC News has one such file, with a '£'); such a file is decoded as Windows-1252 — every
    /// byte maps to a character there, so nothing is lost — and listed in <paramref name="notes"/> so the
    /// caller says so. Without <paramref name="notes"/> the strict error stands.
    /// </summary>
    public static string ReadDocument(string path, DataNotes? notes)
    {
        try
        {
            return ReadAllText(path);
        }
        catch (RepShiftException) when (notes != null && File.Exists(path))
        {
            notes.Recoded.Add(path);
            System.Text.Encoding.RegisterProvider(System.Text.CodePagesEncodingProvider.Instance);
            return System.Text.Encoding.GetEncoding(1252).GetString(File.ReadAllBytes(path));
        }
    }

    /// <summary>The file's lines without their line ends ("\n" or "\r\n"); a final line end adds no empty line.</summary>
    public static string[] ReadLines(string path) => SplitLines(ReadAllText(path));

    public static string[] SplitLines(string text)
    {
        var lines = text.Split('\n');
        if (lines.Length > 0 && lines[^1].Length == 0) Array.Resize(ref lines, lines.Length - 1);
        for (int i = 0; i < lines.Length; i++)
            if (lines[i].EndsWith('\r')) lines[i] = lines[i][..^1];
        return lines;
    }

    /// <summary>A line cut to a readable length for an error message.</summary>
    public static string Excerpt(string line) => line.Length <= 60 ? line : line[..57] + "...";
}
