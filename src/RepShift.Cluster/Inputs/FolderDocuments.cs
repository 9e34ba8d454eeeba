using System.Text;
using System.Text.Unicode;

namespace RepShift.Cluster.Inputs;

/// <summary>The documents of a folder: its .txt files in ordinal path order, each read whole.</summary>
public static class FolderDocuments
{
    // A data folder's own notes (BBC News has SOURCE.txt at the top) are not documents; the evaluation readers skip the same names.
    private static readonly HashSet<string> MetadataNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "README", "LICENSE", "LICENCE", "SOURCE", "NOTICE", "COPYING", "CITATION", "AUTHORS", "CHANGELOG",
    };

    /// <summary>Paths relative to <paramref name="folder"/> ('/'-separated), sorted ordinally; hidden entries and metadata files skipped.</summary>
    public static List<string> List(string folder)
    {
        var files = new List<string>();
        Collect(folder, folder, files);
        files.Sort(StringComparer.Ordinal);
        return files;
    }

    private static void Collect(string root, string folder, List<string> files)
    {
        foreach (string file in Directory.GetFiles(folder))
        {
            string name = Path.GetFileName(file);
            if (name.StartsWith('.') || !Path.GetExtension(file).Equals(".txt", StringComparison.OrdinalIgnoreCase)) continue;
            if (MetadataNames.Contains(Path.GetFileNameWithoutExtension(file))) continue;
            files.Add(Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/'));
        }
        foreach (string sub in Directory.GetDirectories(folder))
            if (!Path.GetFileName(sub).StartsWith('.')) Collect(root, sub, files);
    }

    /// <summary>
    /// A document's text, trimmed. Collections scraped years ago are sometimes Windows-1252 in places (BBC News has
    /// one file with a '£'): a file that is not valid UTF-8 is decoded as Windows-1252, where every byte is a
    /// character, and <paramref name="recoded"/> is set so the caller can say so.
    /// </summary>
    public static string Read(string path, out bool recoded)
    {
        byte[] bytes = File.ReadAllBytes(path);
        ReadOnlySpan<byte> text = bytes;
        if (text.StartsWith("\uFEFF"u8)) text = text[3..];
        var chars = new char[text.Length];
        recoded = Utf8.ToUtf16(text, chars, out _, out int written, replaceInvalidSequences: false) != System.Buffers.OperationStatus.Done;
        if (!recoded) return new string(chars, 0, written).Trim();
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        return Encoding.GetEncoding(1252).GetString(bytes).Trim();
    }
}
