using System.Text;

namespace RepShift.Tests;

/// <summary>A fresh folder under the system temp path, deleted with everything in it on dispose; tests write their small data files here.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "repshift-tests-" + Guid.NewGuid().ToString("N"));

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes <paramref name="text"/> as UTF-8 (no BOM) to a path relative to the folder, creating sub-folders.</summary>
    public string Write(string relative, string text) => WriteBytes(relative, new UTF8Encoding(false).GetBytes(text));

    public string WriteBytes(string relative, byte[] bytes)
    {
        string full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        System.IO.File.WriteAllBytes(full, bytes);
        return full;
    }

    public string Folder(string relative) => Directory.CreateDirectory(System.IO.Path.Combine(Path, relative)).FullName;

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { } // a leftover temp folder must not fail a test
    }
}
