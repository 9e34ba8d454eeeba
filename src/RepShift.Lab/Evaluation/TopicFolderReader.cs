namespace RepShift.Evaluation;

/// <summary>
/// Reads labelled documents from a folder with one sub-folder per label and .txt files inside (BBC News:
/// <c>business/001.txt</c>, …). The whole file is the document. Files at the top level (e.g. SOURCE.txt) are
/// not in a label folder and are ignored, as are files that are not .txt and hidden folders.
/// </summary>
public static class TopicFolderReader
{
    public static List<LabelledText> Read(string folder, DataNotes? notes = null)
    {
        if (!Directory.Exists(folder)) throw new RepShiftException($"{folder}: folder not found; expected one sub-folder per label with .txt files inside");
        var labelFolders = Directory.GetDirectories(folder).Where(d => !Path.GetFileName(d).StartsWith('.')).ToList();
        labelFolders.Sort(StringComparer.Ordinal);
        if (labelFolders.Count == 0)
            throw new RepShiftException($"{folder}: no label sub-folders; expected one sub-folder per label (e.g. sport/, tech/) with .txt files inside");
        var docs = new List<LabelledText>();
        foreach (string labelFolder in labelFolders)
        {
            string label = Path.GetFileName(labelFolder);
            var files = TextFiles.Under(labelFolder);
            if (files.Count == 0) throw new RepShiftException($"{labelFolder}: label folder '{label}' holds no .txt files");
            foreach (string file in files)
            {
                string text = Utf8File.ReadDocument(file, notes);
                if (string.IsNullOrWhiteSpace(text)) throw new RepShiftException($"{file}: the document is empty; expected some text");
                docs.Add(new LabelledText(label, text, file));
            }
        }
        return docs;
    }
}
