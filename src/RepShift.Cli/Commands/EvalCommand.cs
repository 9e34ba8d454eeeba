using System.CommandLine;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift eval …</c>: quality on labelled data.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var command = new Command("eval", "Measure embedding quality: sts (Spearman), topics (k-NN accuracy), retrieval (recall/MRR), fidelity (compressed vs dense, label-free), images (ViT top-1 and images/s).");
        command.Subcommands.Add(EvalStsCommand.Create());
        command.Subcommands.Add(EvalTopicsCommand.Create());
        command.Subcommands.Add(EvalRetrievalCommand.Create());
        command.Subcommands.Add(EvalFidelityCommand.Create());
        command.Subcommands.Add(EvalImagesCommand.Create());
        return command;
    }
}
