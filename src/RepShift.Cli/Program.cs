using System.CommandLine;
using RepShift.Cli;
using RepShift.Cli.Commands;

var root = new RootCommand("""
    RepShift: fast transformer text embeddings in pure C#, with token compression that works inside
    fused attention. Runs the embedded all-MiniLM-L6-v2 by default (no download needed).

    Examples:
      repshift embed "The cat sat on the mat." "A dog barked."
      repshift similarity "A man is playing a guitar." "Someone plays an instrument."
      repshift verify --json
      repshift eval sts --data ../shared/data/sick/SICK.txt --format sick --json
      repshift serve --port 8080
    """);
root.Subcommands.Add(EmbedCommand.Create());
root.Subcommands.Add(SimilarityCommand.Create());
root.Subcommands.Add(ShowCommand.Create());
root.Subcommands.Add(VerifyCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(CalibrateCommand.Create());
root.Subcommands.Add(SweepCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(ClassifyCommand.Create());
return Cli.Invoke(root, args);
