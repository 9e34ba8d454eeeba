namespace RepShift.Evaluation;

/// <summary>What a reader of a document folder did that the user should hear about: files it left out, files it had to decode as Windows-1252.</summary>
public sealed class DataNotes
{
    public List<string> Skipped { get; } = [];
    public List<string> Recoded { get; } = [];

    /// <summary>One line per note, for stderr.</summary>
    public IEnumerable<string> Lines()
    {
        foreach (var f in Skipped) yield return $"note: skipped {f} (a data set's notes, not a data file)";
        foreach (var f in Recoded) yield return $"note: {f} is not valid UTF-8; read it as Windows-1252 (convert it with iconv -f windows-1252 -t utf-8 to silence this)";
    }
}
