using RepShift.Compression;
using RepShift.Kernels;
using RepShift.Models;

namespace RepShift;

/// <summary>How <see cref="TextEmbedder"/> turns texts into vectors.</summary>
public sealed record EmbedderOptions
{
    /// <summary>Tokens per text including [CLS] and [SEP]; longer texts are truncated (256 is sentence-transformers' setting for all-MiniLM-L6-v2).</summary>
    public int MaxTokens { get; init; } = 256;

    /// <summary>Most texts per packed batch.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>
    /// Most tokens per packed batch: batches are formed by token count, so short texts share large batches
    /// (large GEMMs run nearer the machine's peak) and long ones cannot blow up the scratch memory, which
    /// grows with the tokens in a batch. A single text longer than this forms a batch of its own.
    /// </summary>
    public int BatchTokens { get; init; } = 8192;

    public AttentionKind Attention { get; init; } = AttentionKind.Flash;

    /// <summary>Threads the kernels use, the calling one included; 0 means one per logical core.</summary>
    public int Threads { get; init; }

    /// <summary>GEMM kernel; <see cref="GemmKernel.Auto"/> picks AVX-512 where the CPU has it. Results are the same with either.</summary>
    public GemmKernel Kernel { get; init; } = GemmKernel.Auto;

    /// <summary>Number format of the linear layers; <see cref="Kernels.Precision.Int8"/> trades a little accuracy for speed and memory.</summary>
    public Precision Precision { get; init; } = Precision.Fp32;

    /// <summary>When given, the encoder adds its stage timings to it.</summary>
    public EncoderProfile? Profile { get; init; }

    /// <summary>
    /// How token states become one vector, overriding the model's convention; null (default) takes the model's
    /// (built in, or from its sentence-transformers files). A model whose files do not say needs it.
    /// </summary>
    public PoolingMode? Pooling { get; init; }

    /// <summary>Token compression applied between layers; dense by default.</summary>
    public CompressionPlan Compression { get; init; } = CompressionPlan.None;

    /// <summary>Checks the options against a model; each problem is one <see cref="OptionException"/> naming the property.</summary>
    internal void Validate(int maxPositions)
    {
        if (MaxTokens < 2 || MaxTokens > maxPositions)
            throw new OptionException(nameof(MaxTokens), $"MaxTokens must be 2 to {maxPositions} (the model's positions), not {MaxTokens}");
        if (BatchSize < 1) throw new OptionException(nameof(BatchSize), $"BatchSize must be ≥ 1, not {BatchSize}");
        if (BatchTokens < 1) throw new OptionException(nameof(BatchTokens), $"BatchTokens must be ≥ 1 (e.g. 8192), not {BatchTokens}");
        if (Threads < 0) throw new OptionException(nameof(Threads), $"Threads must be ≥ 0 (0: one per logical core), not {Threads}");
        if (!Enum.IsDefined(Kernel)) throw new OptionException(nameof(Kernel), $"Kernel must be Auto, Avx2 or Avx512, not {Kernel}");
        if (Pooling is { } pooling && !Enum.IsDefined(pooling)) throw new OptionException(nameof(Pooling), $"Pooling must be one of {string.Join(", ", Enum.GetNames<PoolingMode>())}, not {pooling}");
        if (!Enum.IsDefined(Precision)) throw new OptionException(nameof(Precision), $"Precision must be Fp32 or Int8, not {Precision}");
        if (Kernel == GemmKernel.Avx512 && !ComputeContext.Avx512Available) throw new OptionException(nameof(Kernel), "Kernel Avx512 needs AVX-512F, which this CPU (or runtime) lacks; use Auto or Avx2");
    }
}
