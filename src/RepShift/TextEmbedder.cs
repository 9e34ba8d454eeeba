using RepShift.Compression;
using RepShift.Kernels;
using RepShift.Loading;
using RepShift.Models;
using RepShift.Text;

namespace RepShift;

/// <summary>
/// Texts in, embeddings out: tokenizer → packed batches → <see cref="BertEncoder"/> → pooled vectors.
/// It owns the <see cref="ComputeContext"/> (worker threads, GEMM kernel, profile) made from its options;
/// dispose it to stop the workers. Thread-safe; an embedding does not depend on which batch or position
/// its text came in, nor on the thread count or kernel.
/// </summary>
public sealed class TextEmbedder : IDisposable
{
    private readonly bool _ownsCompute;

    public TextEmbedder(ModelBundle model, EmbedderOptions? options = null) : this(model, options, null)
    {
    }

    /// <summary>
    /// An embedder on a caller's <paramref name="compute"/> (its threads and kernel; <see cref="EmbedderOptions.Threads"/>,
    /// <see cref="EmbedderOptions.Kernel"/> and <see cref="EmbedderOptions.Profile"/> are then not used), so several models
    /// share one worker pool: concurrent calls queue on it. The caller keeps ownership of the context and disposes it
    /// after every embedder on it.
    /// </summary>
    public TextEmbedder(ModelBundle model, EmbedderOptions? options, ComputeContext? compute)
    {
        Options = options ?? new EmbedderOptions();
        Options.Validate(model.Weights.Config.MaxPositions);
        Options.Compression.Validate(model.Weights.Config.Layers, model.Name);
        ModelName = model.Name;
        Tokenizer = model.Tokenizer;
        var pooling = Options.Pooling ?? model.Conventions.Pooling ?? throw new ModelFormatException(
            $"{model.Name}: its files do not say how token states become one vector; state the pooling with --embedding-pooling cls|mean|max|last-token|weighted-mean "
            + "(EmbedderOptions.Pooling in C#), or put sentence-transformers' modules.json and 1_Pooling/config.json beside it");
        Conventions = model.Conventions with { Pooling = pooling };
        CheckPlanPooling(Options.Compression, pooling);
        var config = model.Weights.Config with { Pooling = pooling, Normalize = model.Conventions.Normalize };
        var weights = config == model.Weights.Config ? model.Weights : model.Weights.WithConfig(config);
        if (Tokenizer.VocabularySize > model.Weights.Config.VocabSize)
            throw new ModelFormatException($"{model.Name}: the vocabulary has {Tokenizer.VocabularySize} tokens but the embedding table only {model.Weights.Config.VocabSize} rows");
        if (Options.Precision == Precision.Int8 && !Int8Gemm.Supported)
            throw new OptionException(nameof(EmbedderOptions.Precision), "Precision Int8 needs AVX2, which this CPU (or runtime) lacks; use Fp32");
        _ownsCompute = compute is null;
        compute ??= new ComputeContext(Options.Threads, Options.Kernel, Options.Profile);
        try { Encoder = new BertEncoder(weights, compute, Options.Attention, model.Name, Options.Precision); }
        catch
        {
            if (_ownsCompute) compute.Dispose();
            throw;
        }
    }

    private TextEmbedder(TextEmbedder other, EmbedderOptions options)
    {
        Options = options;
        ModelName = other.ModelName;
        Tokenizer = other.Tokenizer;
        Encoder = other.Encoder;
        Conventions = other.Conventions;
        Options.Compression.Validate(Encoder.Config.Layers, ModelName);
        CheckPlanPooling(Options.Compression, Encoder.Config.Pooling);
    }

    /// <summary>Frozen states of dropped tokens join a plain mean only; a fused row has no position, so position-weighted pooling cannot place it.</summary>
    private static void CheckPlanPooling(CompressionPlan plan, PoolingMode pooling)
    {
        if (plan.IsDense) return;
        if (plan.Pooling == CompressionPooling.Frozen && pooling != PoolingMode.Mean)
            throw new OptionException(nameof(CompressionPlan.Pooling), $"compression pooling Frozen adds dropped tokens to a mean; this model pools by {pooling}: use compression pooling Mean");
        if (plan.Mode == ReduceMode.Fuse && pooling == PoolingMode.WeightedMean)
            throw new OptionException(nameof(CompressionPlan.Mode), "Mode Fuse makes rows without a position, which WeightedMean pooling cannot weigh; use Drop or Merge");
    }

    /// <summary>
    /// The same model (weights and compute context shared, nothing reloaded) under another compression plan.
    /// The result borrows this embedder's context: it stays usable only while this one is not disposed.
    /// </summary>
    public TextEmbedder WithCompression(CompressionPlan plan) => new(this, Options with { Compression = plan });

    /// <summary>Loads a model by name or path (see <see cref="ModelLoader"/>); null means the embedded all-MiniLM-L6-v2.</summary>
    public static TextEmbedder Load(string? model = null, EmbedderOptions? options = null) => new(ModelLoader.Load(model), options);

    public string ModelName { get; }
    public EmbedderOptions Options { get; }

    /// <summary>The model's pooling (as run: the caller's override applied), normalisation and prompts.</summary>
    public ModelConventions Conventions { get; }
    public BertTextTokenizer Tokenizer { get; }
    public BertEncoder Encoder { get; }
    public int Dimension => Encoder.Config.Hidden;

    /// <summary>The threads, kernel, profile and scratch meter this embedder runs with.</summary>
    public ComputeContext Compute => Encoder.Compute;

    public TokenizedText Tokenize(string text) => Tokenizer.Encode(text, Options.MaxTokens);

    /// <summary>[CLS] prompt text [SEP] (see <see cref="PromptIds"/>), at most <see cref="EmbedderOptions.MaxTokens"/> ids.</summary>
    public TokenizedText Tokenize(string text, string? prompt) => Tokenizer.Encode(text, Options.MaxTokens, PromptIds(prompt));

    /// <summary>
    /// The word pieces of the model's prompt named <paramref name="prompt"/> ("query", "document" or a name the
    /// model defines; null: its default prompt, usually none), empty when there is no prompt for that name.
    /// </summary>
    public int[] PromptIds(string? prompt) => Conventions.PromptText(prompt, ModelName) is { } text ? Tokenizer.WordPieces(text) : [];

    /// <summary>
    /// Embeds <paramref name="texts"/> in packed batches of at most <see cref="EmbedderOptions.BatchSize"/> texts and
    /// <see cref="EmbedderOptions.BatchTokens"/> tokens, in order, under <paramref name="plan"/> (default:
    /// <see cref="EmbedderOptions.Compression"/>); <paramref name="progress"/> receives the count of texts done.
    /// <paramref name="prompt"/> names the model's prompt put before every text ("query" for retrieval queries,
    /// "document" for what is searched; see <see cref="PromptIds"/>): its tokens count in the result's tokens and
    /// compression keeps them, like [CLS] and [SEP].
    /// </summary>
    public EmbeddingResult Embed(IReadOnlyList<string> texts, IProgress<int>? progress = null, CancellationToken cancellation = default, CompressionPlan? plan = null, string? prompt = null)
    {
        for (int i = 0; i < texts.Count; i++)
        {
            if (texts[i] is null) throw new ArgumentException($"text {i} is null");
            if (!Tokenizer.HasWordPieces(texts[i]))
                throw new RepShiftException($"text {i} is empty: it has no word pieces (only whitespace or characters the tokenizer drops, such as control characters), so there is nothing to embed; remove it or give it some words");
        }
        var promptIds = PromptIds(prompt);
        var ids = new int[texts.Count][];
        int truncated = 0;
        for (int i = 0; i < texts.Count; i++)
        {
            var t = Tokenizer.Encode(texts[i], Options.MaxTokens, promptIds);
            if (t.Truncated) truncated++;
            ids[i] = t.Ids;
        }
        int[]? prefixes = promptIds.Length == 0 ? null : Array.ConvertAll(ids, x => Math.Min(promptIds.Length, x.Length - 2));
        var (vectors, tokenLayers) = EmbedIds(ids, progress, cancellation, plan, prefixes);
        return new EmbeddingResult(vectors, Array.ConvertAll(ids, x => x.Length), tokenLayers, truncated);
    }

    /// <summary>
    /// Embeds token id sequences (each already [CLS] … [SEP]) in order, in packed batches of at most
    /// <see cref="EmbedderOptions.BatchSize"/> sequences and <see cref="EmbedderOptions.BatchTokens"/> tokens; returns the
    /// vectors and the token-layers each sequence took. <paramref name="protectedPrefix"/>[i], when given, is the number of
    /// prompt tokens after sequence i's [CLS], which compression keeps.
    /// </summary>
    public (float[][] Vectors, int[] TokenLayers) EmbedIds(IReadOnlyList<int[]> ids, IProgress<int>? progress = null, CancellationToken cancellation = default, CompressionPlan? plan = null, IReadOnlyList<int>? protectedPrefix = null)
    {
        if (protectedPrefix != null && protectedPrefix.Count != ids.Count)
            throw new ArgumentException($"{protectedPrefix.Count} protected prefixes for {ids.Count} sequences", nameof(protectedPrefix));
        if (plan != null && !ReferenceEquals(plan, Options.Compression))
        {
            plan.Validate(Encoder.Config.Layers, ModelName);
            CheckPlanPooling(plan, Encoder.Config.Pooling);
        }
        plan ??= Options.Compression;
        var vectors = new float[ids.Count][];
        var tokenLayers = new int[ids.Count];
        var batch = new List<int[]>();
        var prefixes = protectedPrefix == null ? null : new List<int>();
        int start = 0, batchTokens = 0;
        for (int i = 0; i <= ids.Count; i++)
        {
            bool full = i == ids.Count || batch.Count == Options.BatchSize || batchTokens + ids[i].Length > Options.BatchTokens;
            if (batch.Count > 0 && full)
            {
                cancellation.ThrowIfCancellationRequested();
                var output = Encoder.Encode(batch, plan, prefixes);
                output.Embeddings.CopyTo(vectors, start);
                output.TokenLayers.CopyTo(tokenLayers, start);
                progress?.Report(i);
                batch.Clear();
                prefixes?.Clear();
                start = i;
                batchTokens = 0;
            }
            if (i == ids.Count) break;
            batch.Add(ids[i]);
            prefixes?.Add(protectedPrefix![i]);
            batchTokens += ids[i].Length;
        }
        return (vectors, tokenLayers);
    }

    /// <summary>Embeds one text, with the model's prompt named <paramref name="prompt"/> before it (see <see cref="PromptIds"/>).</summary>
    public float[] Embed(string text, string? prompt = null) => Embed([text], prompt: prompt).Vectors[0];

    /// <summary>
    /// Every input token of <paramref name="text"/> with its score at each reduction and where it was removed,
    /// under <paramref name="plan"/> (default: <see cref="EmbedderOptions.Compression"/>).
    /// </summary>
    public TokenFateReport TraceFates(string text, CompressionPlan? plan = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!Tokenizer.HasWordPieces(text))
            throw new RepShiftException("the text is empty: it has no word pieces (only whitespace or characters the tokenizer drops, such as control characters), so there is nothing to show; give it some words");
        if (plan != null && !ReferenceEquals(plan, Options.Compression)) plan.Validate(Encoder.Config.Layers, ModelName);
        plan ??= Options.Compression;
        var tokenized = Tokenize(text);
        var recorder = new TokenFateRecorder(tokenized.Ids, plan, Encoder.Config.Layers);
        Encoder.Trace([tokenized.Ids], plan, recorder.AfterLayer, recorder.BeforeReduction);
        return recorder.Report(Tokenizer.TokenText, tokenized.Truncated);
    }

    public void Dispose()
    {
        if (_ownsCompute) Encoder.Compute.Dispose();
    }
}
