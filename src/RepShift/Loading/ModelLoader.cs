namespace RepShift.Loading;

/// <summary>Resolves <c>--model NAME|PATH</c> to a loaded model.</summary>
public static class ModelLoader
{
    /// <summary>Name of the model embedded in the package (the default).</summary>
    public const string DefaultModelName = "all-MiniLM-L6-v2";

    /// <summary>
    /// null or a built-in name (all-MiniLM-L6-v2, arctic-embed-xs; see <see cref="BuiltInModels"/>) → that model;
    /// a folder → a Hugging Face model folder (config.json + model.safetensors + vocab.txt or tokenizer.json);
    /// a .onnx file → an ONNX BERT export with vocab.txt beside it. The conventions of a folder or file come from
    /// its sentence-transformers files (<see cref="SentenceTransformersModules"/>); where they do not state the
    /// pooling, <see cref="ModelConventions.Pooling"/> is null and <see cref="TextEmbedder"/> asks for it.
    /// </summary>
    public static ModelBundle Load(string? model)
    {
        if (string.IsNullOrWhiteSpace(model)) return BuiltInModels.Load(BuiltInModels.MiniLM);
        if (BuiltInModels.Find(model) is { } builtIn) return BuiltInModels.Load(builtIn);
        if (Directory.Exists(model)) return HuggingFaceFolder.Load(model);
        if (File.Exists(model))
        {
            if (!model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
                throw new ModelFormatException($"{model}: not a model RepShift can read; give an .onnx file (with vocab.txt beside it) or a Hugging Face model folder");
            string folder = Path.GetDirectoryName(Path.GetFullPath(model))!;
            string vocab = Path.Combine(folder, "vocab.txt");
            if (!File.Exists(vocab)) throw new ModelFormatException($"{model}: no vocab.txt beside the ONNX file (looked for {vocab})");
            using var onnx = File.OpenRead(model);
            using var vocabStream = File.OpenRead(vocab);
            var weights = OnnxBertImporter.Import(onnx, model);
            var conventions = SentenceTransformersModules.ReadBesideOnnx(folder, weights.Config.Hidden);
            if (conventions.Pooling is { } pooling) weights = weights.WithConfig(weights.Config with { Pooling = pooling, Normalize = conventions.Normalize });
            return new ModelBundle(Path.GetFileName(model), weights, Text.BertTextTokenizer.FromVocab(vocabStream, source: vocab)) { Conventions = conventions };
        }
        throw new ModelFormatException($"model '{model}' not found: give a built-in model ({string.Join(", ", BuiltInModels.All.Select(m => m.Name))}; 'repshift models' lists them), a Hugging Face model folder, or an .onnx file");
    }
}
