namespace RepShift.Cli.Serve;

/// <summary>Limits and batching of <c>repshift serve</c>; every field has a command-line option or is fixed for tests.</summary>
internal sealed record ServeOptions
{
    /// <summary>Gather requests that arrive close together into one encoder batch; false runs one batch per request.</summary>
    public bool Batching { get; init; } = true;

    /// <summary>How long the oldest waiting request may be held for others to join its batch.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>Texts per micro-batch; one request larger than this still runs whole (in encoder batches).</summary>
    public int MaxBatchTexts { get; init; } = 32;

    /// <summary>Requests that may wait for the encoder; one more is answered 503.</summary>
    public int QueueCapacity { get; init; } = 256;

    /// <summary>Texts per request.</summary>
    public int MaxInputs { get; init; } = 256;

    /// <summary>Characters per text; the encoder truncates to its token limit anyway, this bounds tokenizer work.</summary>
    public int MaxCharacters { get; init; } = 16_384;

    /// <summary>Request body bytes.</summary>
    public int MaxBodyBytes { get; init; } = 8 << 20;

    public void Validate()
    {
        if (MaxDelay < TimeSpan.Zero) throw new RepShiftException($"--max-delay-ms {MaxDelay.TotalMilliseconds} is out of range: use 0 or more");
        if (MaxBatchTexts < 1) throw new RepShiftException($"--batch {MaxBatchTexts} is out of range: use 1 or more");
        if (QueueCapacity < 1) throw new RepShiftException($"--queue {QueueCapacity} is out of range: use 1 or more");
        if (MaxInputs < 1) throw new RepShiftException($"--max-inputs {MaxInputs} is out of range: use 1 or more");
        if (MaxCharacters < 1) throw new RepShiftException($"--max-chars {MaxCharacters} is out of range: use 1 or more");
        if (MaxBodyBytes < 1) throw new RepShiftException($"body limit {MaxBodyBytes} is out of range: use 1 or more");
    }
}
