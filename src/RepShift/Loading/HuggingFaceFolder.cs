using RepShift.Models;

namespace RepShift.Loading;

/// <summary>
/// Loads a BERT-family model folder as downloaded from the Hugging Face Hub
/// (sentence-transformers/all-MiniLM-L6-v2, all-MiniLM-L12-v2, BAAI/bge-small-en-v1.5, intfloat/e5-small-v2, …).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><b>config.json</b>: model_type "bert" (or no model_type and a Bert* architecture), hidden_act "gelu",
/// absolute position embeddings; type_vocab_size 0 means no token types, and when it is missing the
/// checkpoint's token-type table decides (none → no token types).</item>
/// <item><b>model.safetensors</b>: F32, F16 or BF16 tensors named as in transformers' BertModel, with or without
/// a "bert." prefix; LayerNorm gamma/beta accepted for weight/bias; the pooler is ignored.</item>
/// <item><b>vocab.txt</b>, or else <b>tokenizer.json</b> with a WordPiece model; lowercasing as described in
/// tokenizer_config.json's do_lower_case, else tokenizer.json's normalizer, else on.</item>
/// <item><b>Pooling</b>: the sentence-transformers Pooling module's config.json (1_Pooling/config.json):
/// pooling_mode_cls_token → CLS, pooling_mode_mean_tokens → mean, also max, lasttoken and weightedmean. Without a
/// pooling config the pooling is unknown (<see cref="ModelConventions.Pooling"/> null): <see cref="TextEmbedder"/>
/// then refuses the model unless <see cref="EmbedderOptions.Pooling"/> states it, rather than guess.</item>
/// <item><b>Prompts</b>: config_sentence_transformers.json's "prompts" and "default_prompt_name".</item>
/// <item><b>Normalization</b>: on if modules.json lists a Normalize module; when there is no modules.json it is
/// on by default (embeddings are compared by cosine). Modules other than Transformer, Pooling and Normalize are refused.</item>
/// </list>
/// Small files are checked before the weights are read, so a wrong folder fails fast.
/// </remarks>
public static class HuggingFaceFolder
{
    public const string ConfigFile = "config.json";
    public const string WeightsFile = "model.safetensors";

    public static ModelBundle Load(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder))
            throw new ModelFormatException($"{folder}: folder not found; expected a Hugging Face model folder with {ConfigFile}, {WeightsFile} and vocab.txt or tokenizer.json");
        CheckFilesPresent(folder);

        string configPath = Path.Combine(folder, ConfigFile);
        var config = HuggingFaceBertConfig.Read(configPath, out bool typeVocabSizeGiven);
        var conventions = SentenceTransformersModules.Read(folder, config.Hidden);
        config = config with { Pooling = conventions.Pooling ?? PoolingMode.Mean, Normalize = conventions.Normalize };
        var tokenizer = HuggingFaceTokenizer.Load(folder);
        if (tokenizer.VocabularySize > config.VocabSize)
            throw new ModelFormatException($"{folder}: the tokenizer has {tokenizer.VocabularySize} tokens but {ConfigFile} says vocab_size {config.VocabSize}; the files do not belong together");

        string weightsPath = Path.Combine(folder, WeightsFile);
        BertWeights weights;
        using (var file = SafeTensorsFile.Open(weightsPath))
            weights = HuggingFaceBertTensors.Read(file, config, typeVocabSizeGiven);
        weights.Validate(weightsPath);
        return new ModelBundle(ModelName(folder), weights, tokenizer) { Conventions = conventions };
    }

    /// <summary>One error listing every required file that is absent, with a hint when a known alternative is there instead.</summary>
    private static void CheckFilesPresent(string folder)
    {
        var missing = new List<string>();
        if (!File.Exists(Path.Combine(folder, ConfigFile))) missing.Add($"{ConfigFile} (the model's sizes: hidden_size, num_hidden_layers, …)");
        if (!File.Exists(Path.Combine(folder, WeightsFile)))
        {
            string hint = File.Exists(Path.Combine(folder, "model.safetensors.index.json")) ? "; sharded checkpoints are not supported"
                : File.Exists(Path.Combine(folder, "pytorch_model.bin")) ? "; only pytorch_model.bin is here, which RepShift does not read: download model.safetensors"
                : "";
            missing.Add($"{WeightsFile} (the weights{hint})");
        }
        if (!File.Exists(Path.Combine(folder, HuggingFaceTokenizer.VocabFile)) && !File.Exists(Path.Combine(folder, HuggingFaceTokenizer.TokenizerFile)))
            missing.Add($"{HuggingFaceTokenizer.VocabFile} or {HuggingFaceTokenizer.TokenizerFile} (the WordPiece vocabulary)");
        if (missing.Count > 0)
            throw new ModelFormatException($"{folder}: not a complete Hugging Face BERT model folder; missing {string.Join(", and ", missing)}");
    }

    private static string ModelName(string folder) => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)));
}
