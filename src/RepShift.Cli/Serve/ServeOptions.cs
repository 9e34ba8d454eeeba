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

    /// <summary>How long a request body may take to arrive; slower is 408.</summary>
    public TimeSpan BodyTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>At shutdown, how long queued requests may still run; those left are answered 503.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>When set, every request but <c>/health/*</c> (and <c>/metrics</c>, unless <see cref="MetricsAuth"/>) needs <c>Authorization: Bearer</c> this key.</summary>
    public string? ApiKey { get; init; }

    /// <summary>With <see cref="ApiKey"/>: <c>/metrics</c> needs the key too.</summary>
    public bool MetricsAuth { get; init; }
    /// <summary>int8 ranges the server may use (--int8-ranges): a request for int8 needs one calibrated for its model and dimensions.</summary>
    public IReadOnlyList<Embeddings.Int8Ranges> Int8Ranges { get; init; } = [];

    /// <summary>Binary projections (--binary-projection): encoding_format binary for a model and dimension count one was calibrated for takes its bits; any other, plain sign bits.</summary>
    public IReadOnlyList<Embeddings.BinaryProjection> BinaryProjections { get; init; } = [];

    public void Validate()
    {
        if (ApiKey is not null) _ = new ApiKey(ApiKey);
        if (MetricsAuth && ApiKey is null) throw new RepShiftException("--metrics-auth needs an API key: give --api-key or set " + Serve.ApiKey.EnvironmentVariable);
        if (ShutdownTimeout < TimeSpan.Zero || ShutdownTimeout > TimeSpan.FromHours(1)) throw new RepShiftException($"--shutdown-timeout {ShutdownTimeout.TotalSeconds} is out of range: use 0 to 3600 seconds");
        if (BodyTimeout <= TimeSpan.Zero || BodyTimeout > TimeSpan.FromHours(1)) throw new RepShiftException($"body timeout {BodyTimeout.TotalSeconds} s is out of range: use more than 0");
        if (MaxDelay < TimeSpan.Zero) throw new RepShiftException($"--max-delay-ms {MaxDelay.TotalMilliseconds} is out of range: use 0 or more");
        if (MaxBatchTexts < 1) throw new RepShiftException($"--batch {MaxBatchTexts} is out of range: use 1 or more");
        if (QueueCapacity < 1) throw new RepShiftException($"--queue {QueueCapacity} is out of range: use 1 or more");
        if (MaxInputs < 1) throw new RepShiftException($"--max-inputs {MaxInputs} is out of range: use 1 or more");
        if (MaxCharacters < 1) throw new RepShiftException($"--max-chars {MaxCharacters} is out of range: use 1 or more");
        if (MaxBodyBytes < 1) throw new RepShiftException($"body limit {MaxBodyBytes} is out of range: use 1 or more");
        foreach (var twice in Int8Ranges.GroupBy(x => (Model: x.Model.ToLowerInvariant(), x.Dimension)).Where(g => g.Count() > 1))
            throw new RepShiftException($"--int8-ranges: {twice.Count()} files for {twice.First().Model} at {twice.Key.Dimension} dimensions; give one");
        foreach (var twice in BinaryProjections.GroupBy(x => (Model: x.Model.ToLowerInvariant(), x.Dimension)).Where(g => g.Count() > 1))
            throw new RepShiftException($"--binary-projection: {twice.Count()} files for {twice.First().Model} at {twice.Key.Dimension} dimensions; give one");
    }
}
