using System.CommandLine;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift eval …</c>: quality on labelled data.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var command = new Command("eval", "Measure embedding quality: sts (Spearman), topics (k-NN accuracy), retrieval (recall/MRR).");
        command.Subcommands.Add(EvalStsCommand.Create());
        command.Subcommands.Add(EvalTopicsCommand.Create());
        command.Subcommands.Add(EvalRetrievalCommand.Create());
        return command;
    }
}
