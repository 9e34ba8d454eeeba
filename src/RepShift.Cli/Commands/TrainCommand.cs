using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using RepShift.Kernels;
using RepShift.Loading;
using RepShift.Training;
using RepShift.Vision;

namespace RepShift.Cli.Commands;

/// <summary><c>repshift train vit</c>: trains a small ViT classifier from scratch and saves it as a Hugging Face folder.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var command = new Command("train", "Train a model from scratch (vit: a vision transformer classifier).");
        command.Subcommands.Add(Vit());
        return command;
    }

    private static Command Vit()
    {
        var data = new Option<string>("--data") { Description = "Folder with IDX files (train-images-idx3-ubyte[.gz], train-labels-…, t10k-…), e.g. /usr/share/datasets/fashion-mnist", Required = true };
        var output = new Option<string>("--output") { Description = "Folder to write config.json, preprocessor_config.json and model.safetensors to", Required = true }.OutputFolder();
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training set", DefaultValueFactory = _ => 30 }.Range(1, 1_000_000);
        var seed = new Option<int>("--seed") { Description = "Seed of initialisation, shuffling and augmentation", DefaultValueFactory = _ => 1 };
        var patch = new Option<int>("--patch") { Description = "Patch size in pixels", DefaultValueFactory = _ => 4 }.Range(1, 1024);
        var hidden = new Option<int>("--hidden") { Description = "Hidden size", DefaultValueFactory = _ => 96 }.Range(1, 16384);
        var layers = new Option<int>("--layers") { Description = "Transformer layers", DefaultValueFactory = _ => 6 }.Range(1, 1024);
        var heads = new Option<int>("--heads") { Description = "Attention heads", DefaultValueFactory = _ => 4 }.Range(1, 1024);
        var mlpRatio = new Option<int>("--mlp-ratio") { Description = "MLP width as a multiple of the hidden size", DefaultValueFactory = _ => 2 }.Range(1, 64);
        var batch = new Option<int>("--batch") { Description = "Images per step", DefaultValueFactory = _ => 128 }.Range(1, 1 << 20);
        var lr = new Option<float>("--lr") { Description = "Peak learning rate (AdamW)", DefaultValueFactory = _ => 1e-3f }.Range(0, 10, minExclusive: true);
        var weightDecay = new Option<float>("--weight-decay") { Description = "AdamW weight decay on matrices", DefaultValueFactory = _ => 0.1f }.Range(0, 10);
        var warmup = new Option<float>("--warmup") { Description = "Warm-up epochs (linear), then cosine decay", DefaultValueFactory = _ => 1f }.Range(0, 1_000_000);
        var smoothing = new Option<float>("--label-smoothing") { Description = "Label smoothing ε in [0, 1): targets (1 − ε)·one-hot + ε/classes", DefaultValueFactory = _ => 0.1f }.Range(0, 1, maxExclusive: true);
        var crop = new Option<int>("--crop-padding") { Description = "Random-crop padding in pixels (0 = no crops)", DefaultValueFactory = _ => 1 }.Range(0, 1024);
        var noFlip = new Option<bool>("--no-flip") { Description = "No random horizontal flips" };
        var init = new Option<string?>("--init") { Description = "Start from this ViT model folder (its sizes and normalisation; --patch/--hidden/--layers/--heads/--mlp-ratio are ignored)" };
        var threads = new Option<int>("--threads") { Description = "Worker threads (default: all cores)", DefaultValueFactory = _ => Environment.ProcessorCount }.Range(1, CommonOptions.MaxThreads);
        var command = new Command("vit", """
            Train a ViT classifier from scratch on an IDX data set (grey images) and save it as a Hugging Face
            ViT folder. Pixels are scaled to [0, 1] and normalised by the training set's mean and std.
            Progress and one line per epoch (loss, train and test top-1) go to stderr.
            The defaults are the recipe of the committed models/fashion-vit-p4 (90.29 % test top-1, 121 min on 2 cores):
              repshift train vit --data /usr/share/datasets/fashion-mnist --output models/fashion-vit-p4 --epochs 30 --seed 1 --lr 1e-3 --weight-decay 0.1 --crop-padding 1 --label-smoothing 0.1 --hidden 96 --layers 6
            A quick small model (~10 min): --epochs 8 --hidden 64 --layers 4 --lr 2e-3 --crop-padding 0 --label-smoothing 0
            """);
        foreach (var o in new Option[] { data, output, epochs, seed, patch, hidden, layers, heads, mlpRatio, batch, lr, weightDecay, warmup, crop, smoothing, noFlip, init, threads }) command.Options.Add(o);
        command.SetAction(r =>
        {
            int t = r.GetValue(threads);
            if (t < 1) throw new RepShiftException($"--threads {t} is out of range: use 1 or more");
            float ls = r.GetValue(smoothing);
            if (!(ls >= 0 && ls < 1)) throw new RepShiftException($"--label-smoothing {ls} is out of range: use a value in [0, 1), e.g. 0.1");
            using var compute = new ComputeContext(t);
            string folder = r.GetValue(data)!;
            if (!Directory.Exists(folder)) throw new RepShiftException($"--data {folder}: folder not found");
            var train = IdxReader.ReadSplit(folder, "train");
            var test = IdxReader.HasSplit(folder, "t10k") ? IdxReader.ReadSplit(folder, "t10k") : null;
            if (train.Width != train.Height) throw new RepShiftException($"training images are {train.Width}×{train.Height}; square images are needed");
            var (mean, std) = Statistics(train);
            int d = r.GetValue(hidden);
            var start = r.GetValue(init) is { } initFolder ? HuggingFaceVit.Load(initFolder) : null;
            var config = start?.Config ?? new ViTConfig
            {
                ImageSize = train.Width,
                PatchSize = r.GetValue(patch),
                Channels = train.Channels,
                Hidden = d,
                Layers = r.GetValue(layers),
                Heads = r.GetValue(heads),
                Intermediate = d * r.GetValue(mlpRatio),
                NumLabels = train.ClassNames.Length,
                LayerNormEps = 1e-6f,
                ImageMean = [mean],
                ImageStd = [std],
                Labels = train.ClassNames,
            };
            try { config.Validate("options"); }
            catch (ModelFormatException e) { throw new RepShiftException(e.Message.Replace("options: ", "", StringComparison.Ordinal)); }
            var options = new TrainingOptions
            {
                Epochs = r.GetValue(epochs),
                BatchSize = r.GetValue(batch),
                LearningRate = r.GetValue(lr),
                WeightDecay = r.GetValue(weightDecay),
                WarmupEpochs = r.GetValue(warmup),
                Seed = r.GetValue(seed),
                Flip = !r.GetValue(noFlip),
                CropPadding = r.GetValue(crop),
                LabelSmoothing = r.GetValue(smoothing),
            };
            if (options.Epochs < 1 || options.BatchSize < 1) throw new RepShiftException("--epochs and --batch must be at least 1");
            var weights = start ?? VitTrainer.Initialize(config, options.Seed);
            long parameters = weights.Parameters().Sum(p => (long)p.Data.Length);
            Console.Error.WriteLine($"training ViT: {config.Layers} layers, hidden {config.Hidden}, {config.Heads} heads, MLP {config.Intermediate}, patch {config.PatchSize} ({config.Tokens} tokens), {parameters:N0} parameters; "
                + $"{train.Count} training images, {test?.Count ?? 0} test images; {options.Epochs} epochs of {(train.Count + options.BatchSize - 1) / options.BatchSize} steps; {compute.Threads} threads");
            var clock = Stopwatch.StartNew();
            var bar = new ProgressLine();
            string dir = r.GetValue(output)!;
            Dictionary<string, string> Metadata(int done) => new()
            {
                ["format"] = "pt",
                ["trained_by"] = "repshift train vit",
                ["seed"] = options.Seed.ToString(CultureInfo.InvariantCulture),
                ["epochs"] = done.ToString(CultureInfo.InvariantCulture),
            };
            VitTrainer.Train(compute, weights, train, test, options,
                e =>
                {
                    bar.Clear();
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"epoch {e.Epoch}/{options.Epochs}: loss {e.TrainLoss:F4}, train top-1 {100 * e.TrainAccuracy:F2}%, test top-1 {100 * e.TestAccuracy:F2}%, {e.Elapsed.TotalMinutes:F1} min"));
                    // A checkpoint after every epoch, so a run cut short still leaves a model (the last save is the final one).
                    HuggingFaceVit.Save(weights, dir, Metadata(e.Epoch));
                },
                (step, total, loss) => bar.Show(step, total, loss, clock.Elapsed));
            Console.Error.WriteLine($"saved {dir} after {clock.Elapsed.TotalMinutes:F1} min");
            return 0;
        });
        return command;
    }

    /// <summary>Mean and std of all training pixels scaled to [0, 1].</summary>
    private static (float Mean, float Std) Statistics(LabelledImages images)
    {
        double sum = 0, sq = 0;
        foreach (byte b in images.Pixels)
        {
            sum += b;
            sq += b * b;
        }
        double n = images.Pixels.Length, mean = sum / n / 255, var = sq / n / (255.0 * 255) - mean * mean;
        return ((float)Math.Round(mean, 4), (float)Math.Round(Math.Sqrt(var), 4));
    }

    /// <summary>A one-line progress bar on a terminal; a line every 10% of the steps when stderr is redirected.</summary>
    private sealed class ProgressLine
    {
        private int _lastTenth = -1;

        public void Show(int step, int total, float loss, TimeSpan elapsed)
        {
            double share = step / (double)total;
            var eta = TimeSpan.FromSeconds(elapsed.TotalSeconds / share * (1 - share));
            string text = string.Create(CultureInfo.InvariantCulture, $"step {step}/{total} loss {loss:F3} elapsed {elapsed:hh\\:mm\\:ss} eta {eta:hh\\:mm\\:ss}");
            if (Console.IsErrorRedirected)
            {
                int tenth = (int)(share * 20);
                if (tenth == _lastTenth) return;
                _lastTenth = tenth;
                Console.Error.WriteLine(text);
                return;
            }
            int width = 30, filled = (int)(share * width);
            Console.Error.Write($"\r[{new string('#', filled)}{new string('.', width - filled)}] {text}   ");
        }

        public void Clear()
        {
            if (!Console.IsErrorRedirected) Console.Error.Write("\r" + new string(' ', 100) + "\r");
        }
    }
}
