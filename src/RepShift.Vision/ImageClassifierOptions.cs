using RepShift.Compression;
using RepShift.Kernels;

namespace RepShift.Vision;

/// <summary>How <see cref="ImageClassifier"/> runs its ViT.</summary>
public sealed record ImageClassifierOptions
{
    /// <summary>Most images per batch.</summary>
    public int BatchSize { get; init; } = 256;

    public AttentionKind Attention { get; init; } = AttentionKind.Flash;

    /// <summary>Threads of the classifier's compute context, the calling one included; 0: one per logical core.</summary>
    public int Threads { get; init; }

    /// <summary>GEMM kernel; <see cref="GemmKernel.Auto"/> picks from what the CPU supports.</summary>
    public GemmKernel Kernel { get; init; } = GemmKernel.Auto;

    /// <summary>Patch compression applied between layers; dense by default.</summary>
    public CompressionPlan Compression { get; init; } = CompressionPlan.None;

    /// <summary>Checks the options against a model; each problem is one <see cref="OptionException"/> naming the property.</summary>
    internal void Validate(int layers, string source)
    {
        if (BatchSize < 1) throw new OptionException(nameof(BatchSize), $"BatchSize must be ≥ 1, not {BatchSize}");
        if (Threads < 0) throw new OptionException(nameof(Threads), $"Threads must be ≥ 0 (0: one per logical core), not {Threads}");
        if (!Enum.IsDefined(Kernel)) throw new OptionException(nameof(Kernel), $"Kernel must be Auto, Avx2 or Avx512, not {Kernel}");
        if (Kernel == GemmKernel.Avx512 && !ComputeContext.Avx512Available) throw new OptionException(nameof(Kernel), "Kernel Avx512 needs AVX-512F, which this CPU (or runtime) lacks; use Auto or Avx2");
        Compression.Validate(layers, source);
    }
}
