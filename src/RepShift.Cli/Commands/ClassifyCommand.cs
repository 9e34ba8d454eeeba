using System.CommandLine;
using System.Globalization;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift classify IMAGE…</c>: the top labels of each image under the ViT model.</summary>
internal static class ClassifyCommand
{
    public static Command Create()
    {
        var common = new CommonOptions(images: true);
        var images = new Argument<string[]>("images") { Description = "Image files (PNG, JPEG, …); converted to the model's channels and size", Arity = ArgumentArity.OneOrMore };
        var top = new Option<int>("--top") { Description = "Labels to print per image", DefaultValueFactory = _ => 5 }.Range(1, 1_000_000);
        var json = new Option<bool>("--json") { Description = """One JSON line per image: {"image":"a.png","labels":[{"label":"Sneaker","probability":0.93},…]}""" };
        var command = new Command("classify", $"""
            Classify images with a ViT model (default: the committed Fashion-MNIST model, {VisionModel.DefaultFolder}).
            Images are converted to the model's channels (grey for Fashion-MNIST) and resized to its input size.
            Example: repshift classify tests/RepShift.Tests/Images/sneaker.png
            """);
        command.Arguments.Add(images);
        command.Options.Add(top);
        command.Options.Add(json);
        common.AddTo(command);
        command.SetAction(r =>
        {
            using var classifier = VisionModel.Load(r.GetValue(common.Model), VisionModel.Options(common, r));
            var paths = r.GetValue(images)!;
            var predictions = classifier.ClassifyFiles(paths);
            int k = r.GetValue(top);
            for (int p = 0; p < paths.Length; p++)
            {
                var best = predictions[p].Top(k);
                if (r.GetValue(json))
                    Cli.WriteJson(new { image = paths[p], labels = best.Select(l => new { label = l.Label, probability = l.Probability }) });
                else
                {
                    Console.Out.WriteLine(paths[p]);
                    foreach (var l in best) Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {100 * l.Probability,6:F2}%  {l.Label}"));
                }
            }
            return 0;
        });
        return command;
    }
}
