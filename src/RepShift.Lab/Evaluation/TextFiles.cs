namespace RepShift.Evaluation;

/// <summary>Finds the .txt files of a data folder in a fixed order, so results do not depend on the file system's listing order.</summary>
internal static class TextFiles
{
    /// <summary>All .txt files under <paramref name="folder"/> (nested folders included, hidden ones skipped), sorted by path.</summary>
    public static List<string> Under(string folder)
    {
        var files = new List<string>();
        Collect(folder, files);
        files.Sort(StringComparer.Ordinal);
        return files;
    }

    private static void Collect(string folder, List<string> files)
    {
        foreach (string file in Directory.GetFiles(folder))
            if (!IsHidden(file) && Path.GetExtension(file).Equals(".txt", StringComparison.OrdinalIgnoreCase)) files.Add(file);
        foreach (string sub in Directory.GetDirectories(folder))
            if (!IsHidden(sub)) Collect(sub, files);
    }

    private static bool IsHidden(string path) => Path.GetFileName(path).StartsWith('.');
}
