using RepShift.Loading;
using RepShift.Vision;

namespace RepShift.Cli;

/// <summary>The model of the image commands: --model FOLDER, or the committed Fashion-MNIST ViT.</summary>
internal static class VisionModel
{
    public const string DefaultFolder = "models/fashion-vit-p4";

    /// <summary>Loads --model, or the default model found from the working directory or the CLI's own location upwards.</summary>
    public static ViTWeights Load(string? model)
    {
        if (model != null) return HuggingFaceVit.Load(model);
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, DefaultFolder);
                if (File.Exists(Path.Combine(candidate, HuggingFaceFolder.ConfigFile))) return HuggingFaceVit.Load(candidate);
            }
        }
        throw new RepShiftException($"no --model given and {DefaultFolder} was not found from here; pass a ViT model folder with --model");
    }

    /// <summary>Index of the largest value.</summary>
    public static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++)
            if (v[i] > v[best]) best = i;
        return best;
    }
}
