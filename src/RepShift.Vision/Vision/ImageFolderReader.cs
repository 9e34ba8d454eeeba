namespace RepShift.Vision;

/// <summary>
/// A labelled image set for evaluation: an IDX folder (its t10k split, else train) or a folder with one
/// sub-folder of image files per class. Sub-folders named like the model's labels take those labels' indices;
/// otherwise classes are the sub-folders in ordinal order.
/// </summary>
public static class ImageFolderReader
{
    public static LabelledImages Read(string folder, ViTConfig model)
    {
        if (!Directory.Exists(folder)) throw new RepShiftException($"{folder}: folder not found");
        LabelledImages data;
        if (IdxReader.HasSplit(folder, "t10k")) data = IdxReader.ReadSplit(folder, "t10k", [.. Enumerable.Range(0, Math.Max(model.NumLabels, 1)).Select(model.Label)]);
        else if (IdxReader.HasSplit(folder, "train")) data = IdxReader.ReadSplit(folder, "train", [.. Enumerable.Range(0, Math.Max(model.NumLabels, 1)).Select(model.Label)]);
        else return ReadClassFolders(folder, model);
        if (data.Channels != model.Channels)
            throw new RepShiftException($"{folder}: the images have {data.Channels} channel(s); the model takes {model.Channels}");
        if (data.Width != model.ImageSize || data.Height != model.ImageSize)
            throw new RepShiftException($"{folder}: the images are {data.Width}×{data.Height}; the model takes {model.ImageSize}×{model.ImageSize}");
        return data;
    }

    private static LabelledImages ReadClassFolders(string folder, ViTConfig model)
    {
        var classes = Directory.GetDirectories(folder).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();
        if (classes.Length == 0) throw new RepShiftException($"{folder}: no IDX files and no class sub-folders; expected t10k-images-idx3-ubyte[.gz] or one folder of images per class");
        var modelIndex = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < model.NumLabels; i++) modelIndex.TryAdd(model.Label(i), i);
        bool byName = classes.All(modelIndex.ContainsKey);
        int size = model.ImageSize, channels = model.Channels;
        var pixels = new List<byte>();
        var labels = new List<int>();
        for (int c = 0; c < classes.Length; c++)
        {
            foreach (string file in Directory.GetFiles(Path.Combine(folder, classes[c])).Order(StringComparer.Ordinal))
            {
                using var bitmap = ImageFile.Decode(file);
                pixels.AddRange(ImageFile.ToModelBytes(bitmap, size, channels));
                labels.Add(byName ? modelIndex[classes[c]] : c);
            }
        }
        if (labels.Count == 0) throw new RepShiftException($"{folder}: the class folders hold no images");
        return new LabelledImages { Width = size, Height = size, Channels = channels, Pixels = [.. pixels], Labels = [.. labels], ClassNames = classes };
    }
}
