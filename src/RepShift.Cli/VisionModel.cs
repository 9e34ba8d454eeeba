using RepShift.Loading;
using RepShift.Vision;

namespace RepShift.Cli;

/// <summary>The model of the image commands: --model FOLDER, or the committed Fashion-MNIST ViT.</summary>
internal static class VisionModel
{
    public const string DefaultFolder = "models/fashion-vit-p4";

    /// <summary>Loads --model, or the default model found from the working directory or the CLI's own location upwards.</summary>
    public static ImageClassifier Load(string? model, ImageClassifierOptions options) => ImageClassifier.Load(Find(model), options);

    private static string Find(string? model)
    {
        if (model != null) return model;
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, DefaultFolder);
                if (File.Exists(Path.Combine(candidate, HuggingFaceFolder.ConfigFile))) return candidate;
            }
        }
        throw new RepShiftException($"no --model given and {DefaultFolder} was not found from here; pass a ViT model folder with --model");
    }

    /// <summary>The image options of a command: --batch (checked here, named as the flag), --threads, --attention, the plan.</summary>
    public static ImageClassifierOptions Options(CommonOptions common, System.CommandLine.ParseResult r)
    {
        int batch = r.GetValue(common.Batch);
        if (batch < 1) throw new RepShiftException($"--batch {batch} is out of range: use 1 or more");
        return new ImageClassifierOptions { BatchSize = batch, Threads = common.ThreadCount(r), Attention = r.GetValue(common.Attention), Compression = common.Plan(r) };
    }
}
