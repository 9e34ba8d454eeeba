using System.CommandLine;
using System.Globalization;
using RepShift.Vision;

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
            using var compute = common.CreateCompute(r);
            var weights = VisionModel.Load(r.GetValue(common.Model));
            var encoder = new VitEncoder(weights, compute, r.GetValue(common.Attention));
            var plan = common.Plan(r);
            plan.Validate(weights.Config.Layers, "vit");
            int k = r.GetValue(top);
            foreach (string path in r.GetValue(images)!)
            {
                var logits = encoder.Classify([ImageFile.Load(path, weights.Config)], plan).Logits[0];
                var probs = Softmax(logits);
                var best = Enumerable.Range(0, probs.Length).OrderByDescending(i => probs[i]).Take(k).ToArray();
                if (r.GetValue(json))
                    Cli.WriteJson(new { image = path, labels = best.Select(i => new { label = weights.Config.Label(i), probability = probs[i] }) });
                else
                {
                    Console.Out.WriteLine(path);
                    foreach (int i in best) Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {100 * probs[i],6:F2}%  {weights.Config.Label(i)}"));
                }
            }
            return 0;
        });
        return command;
    }

    private static float[] Softmax(float[] logits)
    {
        float max = logits.Max();
        var e = logits.Select(v => MathF.Exp(v - max)).ToArray();
        float sum = e.Sum();
        return [.. e.Select(v => v / sum)];
    }
}
