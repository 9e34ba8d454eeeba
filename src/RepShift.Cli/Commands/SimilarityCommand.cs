using System.CommandLine;
using System.Numerics.Tensors;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift similarity A B</c>: cosine similarity of two texts.</summary>
internal static class SimilarityCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var a = new Argument<string>("text-a") { Description = "First text" };
        var b = new Argument<string>("text-b") { Description = "Second text" };
        var json = new Option<bool>("--json") { Description = "Print {\"cosine\":x} on stdout" };
        var command = new Command("similarity", "Cosine similarity of two texts' embeddings (1 = same meaning, around 0 = unrelated).");
        command.Arguments.Add(a);
        command.Arguments.Add(b);
        command.Options.Add(json);
        command.Options.Add(common.Prompt);
        common.AddTo(command);
        command.SetAction(r =>
        {
            var embedder = common.CreateEmbedder(r);
            var v = embedder.Embed([r.GetValue(a)!, r.GetValue(b)!], prompt: r.GetValue(common.Prompt)).Vectors;
            float cosine = TensorPrimitives.CosineSimilarity(v[0], v[1]);
            if (r.GetValue(json)) Cli.WriteJson(new { cosine });
            else Console.WriteLine(cosine.ToString("F4", System.Globalization.CultureInfo.InvariantCulture));
            return 0;
        });
        return command;
    }
}
