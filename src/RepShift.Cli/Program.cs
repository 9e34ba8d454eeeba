using System.CommandLine;
using RepShift.Cli.Commands;

namespace RepShift.Cli;

/// <summary>The entry point and the one factory of the command tree (tests walk the same tree).</summary>
internal static class Program
{
    public static int Main(string[] args) => Cli.Invoke(CreateRoot(), args);

    public static RootCommand CreateRoot()
    {
        var root = new RootCommand("""
            RepShift: fast transformer text embeddings in pure C#, with token compression that works inside
            fused attention. Runs the embedded all-MiniLM-L6-v2 by default (no download needed); also built in:
            arctic-embed-xs for retrieval ('repshift models' lists them).

            Examples:
              repshift embed "The cat sat on the mat." "A dog barked."
              repshift similarity "A man is playing a guitar." "Someone plays an instrument."
              repshift embed --model arctic-embed-xs --prompt query "how do vaccines work"
              repshift verify --json
              repshift eval sts --data ../shared/data/sick/SICK.txt --format sick --json
              repshift serve --port 8080

            Exit codes (every command): 0 success; 1 a check failed (e.g. verify found a mismatch);
            2 a user error (bad or conflicting options, missing or invalid files, parse errors), with one
            'error:' line on stderr; 3 an internal error (a bug: one 'error:' line, the stack trace with
            REPSHIFT_DEBUG=1).
            """);
        root.Subcommands.Add(EmbedCommand.Create());
        root.Subcommands.Add(JobCommand.Create());
        root.Subcommands.Add(NodeCommand.Create());
        root.Subcommands.Add(SimilarityCommand.Create());
        root.Subcommands.Add(ModelsCommand.Create());
        root.Subcommands.Add(ShowCommand.Create());
        root.Subcommands.Add(VerifyCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(QuantizeOnnxCommand.Create());
        root.Subcommands.Add(CalibrateCommand.Create());
        root.Subcommands.Add(CalibrateEncodingCommand.Create());
        root.Subcommands.Add(SweepCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(ClassifyCommand.Create());
        return root;
    }
}
