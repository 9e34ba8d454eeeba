namespace RepShift.Evaluation;

/// <summary>Unlabelled texts for label-free evaluation and calibration: a file (one text per line) or a folder (one text per .txt file, nested folders included).</summary>
public static class Corpus
{
    /// <summary>Reads up to <paramref name="limit"/> texts; blank lines and metadata files (README, SOURCE, …) are skipped.</summary>
    public static List<string> Read(string path, int? limit = null, DataNotes? notes = null)
    {
        var texts = new List<string>();
        if (Directory.Exists(path))
        {
            foreach (string file in TextFiles.Under(path))
            {
                if (limit is int n && texts.Count >= n) break;
                if (RetrievalReader.MetadataNames.Contains(Path.GetFileNameWithoutExtension(file)))
                {
                    notes?.Skipped.Add(file);
                    continue;
                }
                string text = Utf8File.ReadDocument(file, notes).Trim();
                if (text.Length > 0) texts.Add(text);
            }
        }
        else if (File.Exists(path))
        {
            foreach (string line in Utf8File.ReadLines(path))
            {
                if (limit is int n && texts.Count >= n) break;
                if (!string.IsNullOrWhiteSpace(line)) texts.Add(line);
            }
        }
        else throw new RepShiftException($"{path}: not found; expected a text file (one text per line) or a folder of .txt files");
        if (texts.Count == 0) throw new RepShiftException($"{path}: holds no texts");
        return texts;
    }
}
