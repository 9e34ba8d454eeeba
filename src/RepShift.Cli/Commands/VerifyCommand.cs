using System.CommandLine;
using System.Numerics.Tensors;
using RepShift.Cli.Baselines;
using RepShift.Evaluation;
using RepShift.Text;

namespace RepShift.Cli.Commands;

/// <summary>
/// <c>repshift verify</c>: RepShift's token ids against Hugging Face's tokenizer, and RepShift's encoder against
/// ONNX Runtime fed Hugging Face's ids, so neither check trusts the part it checks.
/// </summary>
internal static class VerifyCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var json = new Option<bool>("--json") { Description = "Print {\"model\":M,\"pooling\":P,\"inputs\":N,\"token_id_differences\":d,\"max_abs_diff\":x,\"min_cosine\":y} on stdout ({\"texts\":N,\"token_id_differences\":d} with --tokenizer)" };
        var tokenizerOnly = new Option<bool>("--tokenizer") { Description = "Check only token ids against Hugging Face's tokenizer, on the built-in texts and on every text of --data" };
        var data = new Option<string[]>("--data")
        {
            Description = "With --tokenizer: SICK.txt files (every sentence) and folders of .txt files such as bbc-news (every whole file, and each file's headline and body as eval retrieval reads them)",
            AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command("verify", """
            Run a built-in set of varied texts (very short, longer than 512 tokens, unicode, numbers, punctuation
            only, repeated words) through RepShift's tokenizer and Hugging Face's (the `tokenizers` library), and
            through RepShift's encoder and ONNX Runtime on the same ONNX model, ONNX Runtime fed Hugging Face's ids.
            Reports token id differences, the largest absolute difference of last_hidden_state and the smallest
            cosine between the two embeddings of a text, both pooled the model's way (e.g. CLS for arctic-embed-xs). Uses the model's full length (512) unless --max-tokens is
            given. Exit code 1 when they disagree (any id difference, max_abs_diff > 1e-3 or min_cosine < 0.99999).
            With --tokenizer, only ids are compared, also on every text of --data.
            With --precision int8, the int8 engine is compared with RepShift's fp32 engine instead (same build, same
            texts): the smallest and the mean cosine between a text's two embeddings, and the weight memory each holds.
            Exit code 1 when min_cosine < 0.97.
            """);
        command.Options.Add(json);
        command.Options.Add(tokenizerOnly);
        command.Options.Add(data);
        common.AddTo(command);
        common.MaxTokens.DefaultValueFactory = _ => 512;
        command.SetAction(r =>
        {
            string[] dataPaths = r.GetValue(data) ?? [];
            bool idsOnly = r.GetValue(tokenizerOnly);
            if (dataPaths.Length > 0 && !idsOnly) throw new RepShiftException("--data is read only with --tokenizer: give --tokenizer to compare token ids on those texts");
            foreach (string path in dataPaths)
                if (!File.Exists(path) && !Directory.Exists(path)) throw new RepShiftException($"{path}: no such file or folder; --data takes SICK.txt files and folders of .txt files");
            string? model = r.GetValue(common.Model);
            if (!idsOnly && model != null && Directory.Exists(model))
                throw new RepShiftException("verify compares against ONNX Runtime and needs an ONNX model: give an .onnx file or the embedded model (or --tokenizer to check only token ids)");
            if (idsOnly) return VerifyIds(common.CreateEmbedder(r), dataPaths, r.GetValue(json));
            return common.EmbedderOptions(r).Precision == Kernels.Precision.Int8 ? VerifyInt8(common, r, r.GetValue(json)) : VerifyEngine(common, r, r.GetValue(json));
        });
        return command;
    }

    private static int VerifyIds(TextEmbedder embedder, string[] dataPaths, bool json)
    {
        var reference = new HuggingFaceTokenizerReference(embedder.Tokenizer);
        var texts = new List<string>(VerificationTexts.All);
        foreach (string path in dataPaths) texts.AddRange(DataTexts(path));
        int differences = 0;
        var differing = new List<string>();
        Cli.WithProgress("comparing token ids", texts.Count, progress =>
        {
            for (int i = 0; i < texts.Count; i++)
            {
                if (!SameIds(embedder.Tokenizer, reference, texts[i]))
                {
                    differences++;
                    if (differing.Count < 5) differing.Add(Utf8File.Excerpt(texts[i]));
                }
                if (i % 256 == 0) progress.Report(i);
            }
            progress.Report(texts.Count);
            return 0;
        });
        if (json) Cli.WriteJson(new { texts = texts.Count, token_id_differences = differences });
        Console.Error.WriteLine($"{texts.Count} texts: {differences} tokenized differently from Hugging Face's tokenizer → {(differences == 0 ? "OK" : "MISMATCH")}");
        foreach (string text in differing) Console.Error.WriteLine($"  differs: {text}");
        return differences == 0 ? 0 : 1;
    }

    /// <summary>Every text a data path yields: SICK's sentences, or a folder's whole files plus each file's headline and body.</summary>
    private static IEnumerable<string> DataTexts(string path)
    {
        if (File.Exists(path))
            return StsReader.ReadSick(path).SelectMany(p => new[] { p.SentenceA, p.SentenceB }).Distinct(StringComparer.Ordinal);
        // Read as eval reads them: files in Windows-1252 (a few BBC articles) are decoded as such.
        var notes = new DataNotes();
        var whole = TextFiles.Under(path).Where(f => !RetrievalReader.MetadataNames.Contains(Path.GetFileNameWithoutExtension(f))).Select(f => Utf8File.ReadDocument(f, notes));
        var parts = RetrievalReader.ReadHeadlines(path, notes).SelectMany(d => new[] { d.Query, d.Document });
        return whole.Concat(parts).Distinct(StringComparer.Ordinal);
    }

    private static bool SameIds(BertTextTokenizer ours, HuggingFaceTokenizerReference reference, string text) =>
        ours.Encode(text, int.MaxValue).Ids.AsSpan().SequenceEqual(reference.Encode(text));

    /// <summary>The smallest int8-vs-fp32 cosine this engine accepts on the verify texts (measured 0.980 on the adversarial ones, 0.995 mean; see docs/RESULTS.md).</summary>
    private const double Int8MinCosine = 0.97;

    private static int VerifyInt8(CommonOptions common, System.CommandLine.ParseResult r, bool json)
    {
        var options = common.EmbedderOptions(r);
        // One model load, two engines: the fp32 reference and the int8 engine from the same weights.
        var bundle = Loading.ModelLoader.Load(r.GetValue(common.Model));
        using var fp32 = new TextEmbedder(bundle, options with { Precision = Kernels.Precision.Fp32 });
        using var int8 = new TextEmbedder(bundle, options);
        var texts = VerificationTexts.All;
        var reference = fp32.Embed(texts).Vectors;
        var quantized = int8.Embed(texts).Vectors;
        double minCos = 1, sumCos = 0;
        int worst = -1;
        for (int i = 0; i < texts.Count; i++)
        {
            double cos = TensorPrimitives.CosineSimilarity(reference[i], quantized[i]);
            sumCos += cos;
            if (cos < minCos) { minCos = cos; worst = i; }
        }
        double meanCos = sumCos / texts.Count;
        long fp32Bytes = fp32.Encoder.WeightBytes, int8Bytes = int8.Encoder.WeightBytes;
        bool ok = minCos >= Int8MinCosine;
        if (json)
            Cli.WriteJson(new
            {
                inputs = texts.Count,
                precision = "int8",
                reference = "repshift fp32",
                int8_kernel = int8.Compute.Int8Kernel.ToString(),
                min_cosine = minCos,
                mean_cosine = meanCos,
                worst_text = worst,
                fp32_weight_bytes = fp32Bytes,
                int8_weight_bytes = int8Bytes,
            });
        Console.Error.WriteLine($"{texts.Count} texts, int8 ({int8.Compute.Int8Kernel}) against fp32: min cosine = {minCos:F5} (text {worst}), mean = {meanCos:F5}; "
            + $"weights held {int8Bytes / 1e6:F1} MB int8 vs {fp32Bytes / 1e6:F1} MB fp32 ({(double)int8Bytes / fp32Bytes:F2}×) → {(ok ? "OK" : "BELOW " + Int8MinCosine)}");
        return ok ? 0 : 1;
    }

    private static int VerifyEngine(CommonOptions common, System.CommandLine.ParseResult r, bool json)
    {
        var embedder = common.CreateEmbedder(r);
        byte[] onnx = common.OnnxBytes(r);
        using var onnxRuntime = new OnnxRuntimeEncoder(onnx, Environment.ProcessorCount);
        var reference = new HuggingFaceTokenizerReference(embedder.Tokenizer);

        var texts = VerificationTexts.All;
        int maxTokens = embedder.Options.MaxTokens;
        var ids = texts.Select(t => embedder.Tokenize(t).Ids).ToList();
        var referenceIds = texts.Select(t => HuggingFaceTokenizerReference.Truncate(reference.Encode(t), maxTokens)).ToList();
        int differences = texts.Count(t => !SameIds(embedder.Tokenizer, reference, t));
        double maxAbs = 0, minCos = 1;
        int worst = -1;
        const int batch = 8;
        for (int start = 0; start < ids.Count; start += batch)
        {
            var slice = ids.GetRange(start, Math.Min(batch, ids.Count - start));
            var referenceSlice = referenceIds.GetRange(start, slice.Count);
            var ours = embedder.Encoder.HiddenStates(slice);
            var theirs = onnxRuntime.HiddenStates(referenceSlice);
            var ourEmb = embedder.Encoder.Encode(slice).Embeddings;
            var theirEmb = onnxRuntime.Embed(referenceSlice, embedder.Encoder.Config.Pooling, embedder.Encoder.Config.Normalize);
            for (int i = 0; i < slice.Count; i++)
            {
                // A text tokenized differently has hidden states of another length: its ids already count as a failure.
                if (ours[i].Length == theirs[i].Length)
                    for (int j = 0; j < ours[i].Length; j++) maxAbs = Math.Max(maxAbs, Math.Abs(ours[i][j] - theirs[i][j]));
                double cos = TensorPrimitives.CosineSimilarity(ourEmb[i], theirEmb[i]);
                if (cos < minCos) { minCos = cos; worst = start + i; }
            }
        }
        bool ok = differences == 0 && maxAbs <= 1e-3 && minCos >= 0.99999;
        string pooling = CommonOptions.Kebab(embedder.Encoder.Config.Pooling.ToString());
        if (json) Cli.WriteJson(new { model = embedder.ModelName, pooling, inputs = texts.Count, token_id_differences = differences, max_abs_diff = maxAbs, min_cosine = minCos });
        Console.Error.WriteLine($"{texts.Count} texts ({ids.Min(i => i.Length)}–{ids.Max(i => i.Length)} tokens): {differences} tokenized differently from Hugging Face's tokenizer, "
            + $"max |Δ last_hidden_state| = {maxAbs:E2}, min cosine = {minCos:F7} (text {worst}; {pooling} pooling both sides) → {(ok ? "OK" : "MISMATCH")}");
        return ok ? 0 : 1;
    }
}
