using System.CommandLine;
using RepShift.Compression;
using RepShift.Evaluation;
using RepShift.Loading;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift models</c>: the built-in models with their dimension, length, pooling, prompts and presets.</summary>
internal static class ModelsCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object per model on stdout (name, aliases, dimension, max_tokens, pooling, normalize, prompts, presets, available)" };
        var command = new Command("models", """
            List the models RepShift knows by name (--model NAME): output dimension, the length each was trained
            for, how token states become the vector (pooling), whether vectors are L2-normalised, the prompts
            (--prompt NAME puts one before each text; eval retrieval uses query and document), and what the
            compression presets mean for each. Any other model is a Hugging Face folder or an .onnx file whose
            sentence-transformers files (modules.json, 1_Pooling/config.json, config_sentence_transformers.json)
            say the same; --embedding-pooling states the pooling where they do not.
            """);
        command.Options.Add(json);
        command.SetAction(r =>
        {
            foreach (var m in BuiltInModels.All)
            {
                var c = m.Conventions;
                string pooling = CommonOptions.Kebab(c.Pooling!.Value.ToString());
                var presets = Presets.Names.Where(n => n != "none").ToDictionary(n => n, n => Calibration.Describe(Presets.Get(n, m.Name)));
                if (r.GetValue(json))
                {
                    Cli.WriteJson(new
                    {
                        name = m.Name,
                        aliases = m.Aliases,
                        dimension = m.Dimension,
                        max_tokens = m.MaxTokens,
                        pooling,
                        normalize = c.Normalize,
                        prompts = c.Prompts,
                        presets,
                        available = m.Available,
                        package = m.Assembly,
                        description = m.Description,
                    });
                    continue;
                }
                Console.WriteLine($"{m.Name}  ({string.Join(", ", m.Aliases)}){(m.Available ? "" : $"  [not installed: add the package {m.Assembly}]")}");
                Console.WriteLine($"  {m.Description}");
                Console.WriteLine($"  dimension {m.Dimension}, trained for {m.MaxTokens} tokens, {pooling} pooling, {(c.Normalize ? "L2-normalised" : "not normalised")}");
                Console.WriteLine(c.Prompts.Count == 0 ? "  prompts: none" : "  prompts: " + string.Join("; ", c.Prompts.Select(p => $"{p.Key} = '{p.Value}'")) + (c.Prompts.ContainsKey("document") ? "" : " (documents: none)"));
                Console.WriteLine("  presets: " + string.Join("; ", presets.Select(p => $"{p.Key} = {p.Value}")));
            }
            return 0;
        });
        return command;
    }
}
