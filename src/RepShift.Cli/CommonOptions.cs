using System.CommandLine;
using RepShift.Kernels;

namespace RepShift.Cli;

/// <summary>Options every model-running command shares: model, lengths, batching, threads, attention kernel.</summary>
internal sealed class CommonOptions
{
    public readonly Option<string?> Model = new("--model") { Description = "Model: 'all-MiniLM-L6-v2' (embedded, default), a Hugging Face model folder, or an .onnx file with vocab.txt beside it" };
    public readonly Option<int> MaxTokens = new("--max-tokens") { Description = "Tokens per text incl. [CLS]/[SEP]; longer texts are truncated", DefaultValueFactory = _ => 256 };
    public readonly Option<int> Batch = new("--batch") { Description = "Texts per packed batch", DefaultValueFactory = _ => 32 };
    public readonly Option<int> Threads = new("--threads") { Description = "Worker threads (default: all cores)", DefaultValueFactory = _ => Environment.ProcessorCount };
    public readonly Option<AttentionKind> Attention = new("--attention") { Description = "Attention kernel: flash (tiled, O(N) memory) or naive (materialises N×N)", DefaultValueFactory = _ => new EmbedderOptions().Attention };

    public void AddTo(Command command)
    {
        command.Options.Add(Model);
        command.Options.Add(MaxTokens);
        command.Options.Add(Batch);
        command.Options.Add(Threads);
        command.Options.Add(Attention);
    }

    public EmbedderOptions EmbedderOptions(ParseResult r) => new()
    {
        MaxTokens = r.GetValue(MaxTokens),
        BatchSize = r.GetValue(Batch),
        Attention = r.GetValue(Attention),
    };

    /// <summary>Applies --threads and loads the model.</summary>
    public TextEmbedder CreateEmbedder(ParseResult r)
    {
        int threads = r.GetValue(Threads);
        if (threads < 1) throw new RepShiftException($"--threads {threads} is out of range: use 1 or more");
        Parallelism.Threads = threads;
        return TextEmbedder.Load(r.GetValue(Model), EmbedderOptions(r));
    }
}
