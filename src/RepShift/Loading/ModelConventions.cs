using RepShift.Models;

namespace RepShift.Loading;

/// <summary>
/// What a model expects around the encoder, as sentence-transformers records it: how token states become one
/// vector (<see cref="Pooling"/>; null when the files do not say, which <see cref="TextEmbedder"/> refuses
/// unless the caller states it), whether the vector is L2-normalised, and the named prompts prepended to texts
/// (e.g. "query" → "Represent this sentence for searching relevant passages: ").
/// </summary>
public sealed record ModelConventions
{
    public PoolingMode? Pooling { get; init; }
    public bool Normalize { get; init; } = true;

    /// <summary>Prompt name → text prepended to every text embedded under that name; names compare case-insensitively.</summary>
    public IReadOnlyDictionary<string, string> Prompts { get; init; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The prompt applied when none is asked for (sentence-transformers' default_prompt_name); usually null.</summary>
    public string? DefaultPrompt { get; init; }

    /// <summary>Where the pooling came from, for messages and <c>repshift models</c> (e.g. "1_Pooling/config.json", "built in").</summary>
    public string? Source { get; init; }

    /// <summary>Conventions of weights built in code: their config's pooling and normalisation, no prompts.</summary>
    public static ModelConventions Of(BertConfig config) => new() { Pooling = config.Pooling, Normalize = config.Normalize, Source = "the model's config" };

    /// <summary>
    /// The text of prompt <paramref name="name"/>: one of <see cref="Prompts"/>' names; null or "" means
    /// <see cref="DefaultPrompt"/> (or none). "query" and "document" are the names retrieval callers use: a model
    /// that defines neither gets no prompt for them (a symmetric model), any other unknown name is an error.
    /// </summary>
    public string? PromptText(string? name, string model)
    {
        if (string.IsNullOrEmpty(name)) return DefaultPrompt is null ? null : PromptText(DefaultPrompt, model);
        if (Prompts.TryGetValue(name, out var text)) return text.Length == 0 ? null : text;
        foreach (var (key, value) in Prompts)
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase)) return value.Length == 0 ? null : value;
        if (IsRetrievalRole(name)) return null;
        string known = Prompts.Count == 0 ? "it defines none" : "it defines " + string.Join(", ", Prompts.Keys);
        throw new OptionException("Prompt", $"model {model} has no prompt named '{name}'; {known} (query and document are always accepted)");
    }

    /// <summary>"query" and "document" (also "passage"): the two sides of retrieval, accepted for every model.</summary>
    public static bool IsRetrievalRole(string name) =>
        name.Equals("query", StringComparison.OrdinalIgnoreCase) || name.Equals("document", StringComparison.OrdinalIgnoreCase) || name.Equals("passage", StringComparison.OrdinalIgnoreCase);
}
