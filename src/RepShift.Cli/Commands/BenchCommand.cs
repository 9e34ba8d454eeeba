using System.CommandLine;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift bench …</c>: speed and memory, engines compared in one run.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var command = new Command("bench", "Measure speed and memory: RepShift against ONNX Runtime, and kernels against the machine's limit.");
        command.Subcommands.Add(BenchGemmCommand.Create());
        return command;
    }
}
