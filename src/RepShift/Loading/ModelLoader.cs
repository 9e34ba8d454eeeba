namespace RepShift.Loading;

/// <summary>Resolves <c>--model NAME|PATH</c> to a loaded model.</summary>
public static class ModelLoader
{
    /// <summary>Name of the model embedded in the package (the default).</summary>
    public const string DefaultModelName = "all-MiniLM-L6-v2";

    /// <summary>
    /// null or "all-MiniLM-L6-v2" → the embedded model; a folder → a Hugging Face model folder
    /// (config.json + model.safetensors + vocab.txt or tokenizer.json); a .onnx file → an ONNX BERT
    /// export with vocab.txt beside it.
    /// </summary>
    public static ModelBundle Load(string? model)
    {
        if (string.IsNullOrWhiteSpace(model) || IsDefaultName(model)) return EmbeddedModel.Load();
        if (Directory.Exists(model)) return HuggingFaceFolder.Load(model);
        if (File.Exists(model))
        {
            if (!model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
                throw new ModelFormatException($"{model}: not a model RepShift can read; give an .onnx file (with vocab.txt beside it) or a Hugging Face model folder");
            string vocab = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(model))!, "vocab.txt");
            if (!File.Exists(vocab)) throw new ModelFormatException($"{model}: no vocab.txt beside the ONNX file (looked for {vocab})");
            using var onnx = File.OpenRead(model);
            using var vocabStream = File.OpenRead(vocab);
            return new ModelBundle(Path.GetFileName(model), OnnxBertImporter.Import(onnx, model), Text.BertTextTokenizer.FromVocab(vocabStream, source: vocab));
        }
        throw new ModelFormatException($"model '{model}' not found: give '{DefaultModelName}' (embedded), a Hugging Face model folder, or an .onnx file");
    }

    private static bool IsDefaultName(string name) =>
        name.Equals(DefaultModelName, StringComparison.OrdinalIgnoreCase) ||
        name.Equals("sentence-transformers/" + DefaultModelName, StringComparison.OrdinalIgnoreCase);
}
