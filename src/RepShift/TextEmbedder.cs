using RepShift.Compression;
using RepShift.Loading;
using RepShift.Models;
using RepShift.Text;

namespace RepShift;

/// <summary>
/// Texts in, embeddings out: tokenizer → packed batches → <see cref="BertEncoder"/> → pooled vectors.
/// Thread-safe; an embedding does not depend on which batch or position its text came in.
/// </summary>
public sealed class TextEmbedder
{
    public TextEmbedder(ModelBundle model, EmbedderOptions? options = null)
    {
        Options = options ?? new EmbedderOptions();
        Options.Validate(model.Weights.Config.MaxPositions);
        ModelName = model.Name;
        Tokenizer = model.Tokenizer;
        Encoder = new BertEncoder(model.Weights, model.Name) { Attention = Options.Attention };
        Options.Compression.Validate(model.Weights.Config.Layers, model.Name);
        if (Tokenizer.VocabularySize > model.Weights.Config.VocabSize)
            throw new ModelFormatException($"{model.Name}: the vocabulary has {Tokenizer.VocabularySize} tokens but the embedding table only {model.Weights.Config.VocabSize} rows");
    }

    private TextEmbedder(TextEmbedder other, EmbedderOptions options)
    {
        Options = options;
        ModelName = other.ModelName;
        Tokenizer = other.Tokenizer;
        Encoder = other.Encoder;
        Options.Compression.Validate(Encoder.Config.Layers, ModelName);
    }

    /// <summary>The same model (weights shared, nothing reloaded) under another compression plan.</summary>
    public TextEmbedder WithCompression(CompressionPlan plan) => new(this, Options with { Compression = plan });

    /// <summary>Loads a model by name or path (see <see cref="ModelLoader"/>); null means the embedded all-MiniLM-L6-v2.</summary>
    public static TextEmbedder Load(string? model = null, EmbedderOptions? options = null) => new(ModelLoader.Load(model), options);

    public string ModelName { get; }
    public EmbedderOptions Options { get; }
    public BertTextTokenizer Tokenizer { get; }
    public BertEncoder Encoder { get; }
    public int Dimension => Encoder.Config.Hidden;

    public TokenizedText Tokenize(string text) => Tokenizer.Encode(text, Options.MaxTokens);

    /// <summary>
    /// Embeds <paramref name="texts"/> in batches of <see cref="EmbedderOptions.BatchSize"/> under
    /// <paramref name="plan"/> (default: <see cref="EmbedderOptions.Compression"/>); <paramref name="progress"/>
    /// receives the count of texts done.
    /// </summary>
    public EmbeddingResult Embed(IReadOnlyList<string> texts, IProgress<int>? progress = null, CancellationToken cancellation = default, CompressionPlan? plan = null)
    {
        if (plan != null && !ReferenceEquals(plan, Options.Compression)) plan.Validate(Encoder.Config.Layers, ModelName);
        plan ??= Options.Compression;
        for (int i = 0; i < texts.Count; i++)
        {
            if (texts[i] is null) throw new ArgumentException($"text {i} is null");
            if (string.IsNullOrWhiteSpace(texts[i])) throw new RepShiftException($"text {i} is empty: there is nothing to embed; remove it or give it some words");
        }
        var vectors = new float[texts.Count][];
        var tokens = new int[texts.Count];
        var tokenLayers = new int[texts.Count];
        int truncated = 0;
        var batch = new List<int[]>(Options.BatchSize);
        for (int start = 0; start < texts.Count; start += Options.BatchSize)
        {
            cancellation.ThrowIfCancellationRequested();
            int end = Math.Min(texts.Count, start + Options.BatchSize);
            batch.Clear();
            for (int i = start; i < end; i++)
            {
                var t = Tokenize(texts[i]);
                if (t.Truncated) truncated++;
                tokens[i] = t.Ids.Length;
                batch.Add(t.Ids);
            }
            var output = Encoder.Encode(batch, plan);
            output.Embeddings.CopyTo(vectors, start);
            output.TokenLayers.CopyTo(tokenLayers, start);
            progress?.Report(end);
        }
        return new EmbeddingResult(vectors, tokens, tokenLayers, truncated);
    }

    /// <summary>Embeds one text.</summary>
    public float[] Embed(string text) => Embed([text]).Vectors[0];
}
