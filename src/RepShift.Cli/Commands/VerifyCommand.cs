using System.CommandLine;
using System.Numerics.Tensors;
using RepShift.Cli.Baselines;
using RepShift.Loading;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift verify</c>: the same texts through RepShift and ONNX Runtime on the same ONNX model.</summary>
internal static class VerifyCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var json = new Option<bool>("--json") { Description = "Print {\"inputs\":N,\"max_abs_diff\":x,\"min_cosine\":y} on stdout" };
        var command = new Command("verify", """
            Run a built-in set of varied texts (very short, longer than 512 tokens, unicode, numbers, punctuation
            only, repeated words) through RepShift and through ONNX Runtime on the same ONNX model, and report the
            largest absolute difference of last_hidden_state and the smallest cosine between the two embeddings of
            a text. Uses the model's full length (512) unless --max-tokens is given. Exit code 1 when the engines
            disagree (max_abs_diff > 1e-3 or min_cosine < 0.99999).
            """);
        command.Options.Add(json);
        common.AddTo(command);
        common.MaxTokens.DefaultValueFactory = _ => 512;
        command.SetAction(r =>
        {
            string? model = r.GetValue(common.Model);
            if (model != null && Directory.Exists(model))
                throw new RepShiftException("verify compares against ONNX Runtime and needs an ONNX model: give an .onnx file or the embedded model");
            var embedder = common.CreateEmbedder(r);
            byte[] onnx = common.OnnxBytes(r);
            using var reference = new OnnxRuntimeEncoder(onnx, Environment.ProcessorCount);

            var texts = VerificationTexts.All;
            var ids = texts.Select(t => embedder.Tokenize(t).Ids).ToList();
            double maxAbs = 0, minCos = 1;
            int worst = -1;
            const int batch = 8;
            for (int start = 0; start < ids.Count; start += batch)
            {
                var slice = ids.GetRange(start, Math.Min(batch, ids.Count - start));
                var ours = embedder.Encoder.HiddenStates(slice);
                var theirs = reference.HiddenStates(slice);
                var ourEmb = embedder.Encoder.Encode(slice).Embeddings;
                var theirEmb = reference.Embed(slice);
                for (int i = 0; i < slice.Count; i++)
                {
                    for (int j = 0; j < ours[i].Length; j++) maxAbs = Math.Max(maxAbs, Math.Abs(ours[i][j] - theirs[i][j]));
                    double cos = TensorPrimitives.CosineSimilarity(ourEmb[i], theirEmb[i]);
                    if (cos < minCos) { minCos = cos; worst = start + i; }
                }
            }
            bool ok = maxAbs <= 1e-3 && minCos >= 0.99999;
            if (r.GetValue(json)) Cli.WriteJson(new { inputs = texts.Count, max_abs_diff = maxAbs, min_cosine = minCos });
            Console.Error.WriteLine($"{texts.Count} texts ({ids.Min(i => i.Length)}–{ids.Max(i => i.Length)} tokens): max |Δ last_hidden_state| = {maxAbs:E2}, "
                + $"min cosine = {minCos:F7} (text {worst}) → {(ok ? "OK" : "MISMATCH")}");
            return ok ? 0 : 1;
        });
        return command;
    }
}
