// Trains FashionMnistNet on Fashion-MNIST (Debian package dataset-fashion-mnist) and saves its weights.
//   dotnet run --project tools/TrainFashionMnist -c Release -- [--epochs 6] [--seed 1] [--threads 1]
//   (the defaults reproduce data/models/fashion-mnist-cnn.bin bit for bit; one thread keeps float sums in a fixed order)
//       [--data /usr/share/datasets/fashion-mnist] [--out data/models/fashion-mnist-cnn.bin]
//       [--subset N] (train on the first N training images only) [--flip on|off] (random horizontal flips, default on)
//       [--shuffle-labels SEED] (permute the training labels with this seed first: Adebayo et al.'s data randomisation test)
//   dotnet run --project tools/TrainFashionMnist -c Release -- --export-samples data/fashion-mnist
//       (writes the first 16 test images as PNG + IDX with labels, and does not train)
using System.Diagnostics;
using System.Text.Json;
using InputGradients.Core;
using InputGradients.Data;
using InputGradients.Models;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

// Prepare TorchSharp's native libraries (Debian 12 fix-ups) before the first torch call below.
InputGradients.Runtime.LibraryRuntime.Ensure();
Dictionary<string, string> options;
int epochs, seed, threads, batchSize, subset, shuffleLabels;
bool flipAugment;
double lr;
try
{
    options = ParseArgs(args);
    epochs = int.Parse(options.GetValueOrDefault("epochs", "6"));
    seed = int.Parse(options.GetValueOrDefault("seed", "1"));
    threads = int.Parse(options.GetValueOrDefault("threads", "1"));
    batchSize = int.Parse(options.GetValueOrDefault("batch", "128"));
    lr = double.Parse(options.GetValueOrDefault("lr", "0.001"), System.Globalization.CultureInfo.InvariantCulture);
    subset = int.Parse(options.GetValueOrDefault("subset", "60000"));
    shuffleLabels = int.Parse(options.GetValueOrDefault("shuffle-labels", "-1"));
    var flipText = options.GetValueOrDefault("flip", "on");
    Require(flipText is "on" or "off", $"--flip {flipText}: give on or off");
    flipAugment = flipText == "on";
    // Values that would run but make no sense (or nothing at all) are refused up front, not after minutes of training.
    Require(epochs is >= 1 and <= 1000, $"--epochs {epochs}: give 1 to 1000");
    Require(threads is >= 1 and <= 256, $"--threads {threads}: give 1 to 256");
    Require(batchSize is >= 1 and <= 60000, $"--batch {batchSize}: give 1 to 60000 (the training set's size)");
    Require(double.IsFinite(lr) && lr is > 0 and <= 10, $"--lr {lr}: give a finite learning rate above 0 and at most 10");
    Require(subset is >= 1 and <= 60000, $"--subset {subset}: give 1 to 60000 (the training set's size)");
    Require(!options.ContainsKey("shuffle-labels") || shuffleLabels >= 0, $"--shuffle-labels {shuffleLabels}: give a seed of 0 or more");
}
catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine($"TrainFashionMnist: {e.Message}");
    return 2;
}
string dataDir = options.GetValueOrDefault("data", FashionMnist.DebianDirectory);
string outPath = options.GetValueOrDefault("out", Path.Combine("data", "models", "fashion-mnist-cnn.bin"));
// Never write into the folder the images are read from (an IDX file there could be replaced).
foreach (var written in options.TryGetValue("export-samples", out var exportDir) ? [exportDir] : new[] { outPath, Path.ChangeExtension(outPath, ".json") })
{
    if (Directory.Exists(dataDir) && ToolSupport.PathIdentity.IsSameOrInside(written, dataDir))
    {
        Console.Error.WriteLine($"TrainFashionMnist: {written} is inside the data folder {dataDir}, which is only read; write elsewhere");
        return 2;
    }
}

if (options.TryGetValue("export-samples", out var samplesDir))
{
    FashionMnist.ExportSamples(samplesDir, 16, dataDir);
    AnsiConsole.MarkupLine($"wrote the first 16 test images to {Markup.Escape(samplesDir)}");
    return 0;
}

torch.set_num_threads(threads);
torch.manual_seed(seed);
// TorchSharp 0.107 has no use_deterministic_algorithms; CPU kernels are deterministic for a fixed thread count.

var total = Stopwatch.StartNew();
var (trainX, trainY) = FashionMnist.Load(train: true, dataDir);
var (testX, testY) = FashionMnist.Load(train: false, dataDir);
AnsiConsole.MarkupLine($"Fashion-MNIST: {trainX.shape[0]} training, {testX.shape[0]} test images from [blue]{Markup.Escape(dataDir)}[/]");
if (subset < trainX.shape[0])
{
    trainX = trainX.narrow(0, 0, subset);
    trainY = trainY.narrow(0, 0, subset);
    AnsiConsole.MarkupLine($"training on the first {subset} training images only");
}
if (shuffleLabels >= 0)
{
    // The labels are permuted among the training images (same label counts, no relation to the pixels left);
    // the test labels stay true, so test accuracy measures what a model of random labels learned about clothes.
    var labelOrder = Enumerable.Range(0, (int)trainY.shape[0]).ToArray();
    new Random(shuffleLabels).Shuffle(labelOrder);
    using var labelPerm = torch.tensor(labelOrder.Select(i => (long)i).ToArray());
    trainY = trainY.index_select(0, labelPerm);
    AnsiConsole.MarkupLine($"training labels permuted with seed {shuffleLabels}");
}
AnsiConsole.MarkupLine($"training pixels: mean {trainX.mean().item<float>():F4}, std {trainX.std().item<float>():F4} " +
                       $"(the model normalises with {FashionMnistNet.PixelMean}, {FashionMnistNet.PixelStd})");
AnsiConsole.MarkupLine($"seed {seed}, epochs {epochs}, batch {batchSize}, Adam lr {lr} with cosine decay, threads {threads}");

// Checkpoints after each epoch go under out/, so a trial or interrupted run never replaces the committed weights;
// the --out file (by default the committed one) is written once, at the end, atomically.
var checkpointPath = Path.Combine("out", "train", Path.GetFileName(outPath));
var model = new FashionMnistNet();
var optimizer = optim.Adam(model.parameters(), lr: lr);
var lossFn = nn.CrossEntropyLoss();
var shuffle = new Random(seed);  // our own permutation, so the order does not depend on torch's generator
long n = trainX.shape[0];
int stepsPerEpoch = (int)((n + batchSize - 1) / batchSize);
var history = new List<object>();
double testAccuracy = 0, trainAccuracy = double.NaN;

AnsiConsole.Progress()
    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
             new ElapsedTimeColumn(), new RemainingTimeColumn())
    .Start(ctx =>
    {
        var task = ctx.AddTask("training", maxValue: epochs * stepsPerEpoch);
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            // Cosine decay from lr to 0 over the run, set once per epoch.
            double epochLr = lr * 0.5 * (1 + Math.Cos(Math.PI * epoch / epochs));
            foreach (var g in optimizer.ParamGroups) g.LearningRate = epochLr;
            model.train();
            var order = Enumerable.Range(0, (int)n).ToArray();
            shuffle.Shuffle(order);
            using var perm = torch.tensor(order.Select(i => (long)i).ToArray());
            double lossSum = 0; long seen = 0;
            for (int step = 0; step < stepsPerEpoch; step++)
            {
                using var scope = NewDisposeScope();
                long start = (long)step * batchSize, len = Math.Min(batchSize, n - start);
                var idx = perm.narrow(0, start, len);
                var x = trainX.index_select(0, idx);
                var y = trainY.index_select(0, idx);
                // Augmentation: horizontal flip of about half the batch (clothes are left-right symmetric enough).
                if (flipAugment)
                {
                    var flip = torch.rand(len, 1, 1, 1).lt_scalar(0.5);
                    x = torch.where(flip, x.flip(3), x);
                }
                optimizer.zero_grad();
                var loss = lossFn.call(model.call(FashionMnistNet.Normalize(x)), y);
                loss.backward();
                optimizer.step();
                lossSum += loss.item<float>() * len; seen += len;
                task.Increment(1);
                task.Description = $"epoch {epoch + 1}/{epochs} loss {lossSum / seen:F4}";
            }
            // Long runs (many epochs on a subset) measure the test set every tenth of the run, not every epoch.
            if ((epoch + 1) % Math.Max(1, epochs / 10) != 0 && epoch + 1 != epochs) continue;
            testAccuracy = model.Accuracy(testX, testY);
            history.Add(new { epoch = epoch + 1, lr = epochLr, train_loss = lossSum / seen, test_accuracy = testAccuracy });
            Save(epoch + 1, final: false, checkpointPath);
            AnsiConsole.MarkupLine($"epoch {epoch + 1}: train loss {lossSum / seen:F4}, test accuracy {testAccuracy:P2}, elapsed {total.Elapsed:mm\\:ss}");
        }
    });

// Accuracy on the (possibly shuffled) labels the model was trained on, without augmentation: how well it fitted them.
trainAccuracy = model.Accuracy(trainX, trainY);
AnsiConsole.MarkupLine($"training accuracy {trainAccuracy:P2} on the {trainX.shape[0]} training images and labels it was trained on");
total.Stop();
var jsonPath = Save(epochs, final: true, outPath);
AnsiConsole.MarkupLine($"[green]test accuracy {testAccuracy:P2}[/] after {epochs} epochs in {total.Elapsed.TotalSeconds:F1} s");
AnsiConsole.MarkupLine($"saved {Markup.Escape(outPath)} and {Markup.Escape(jsonPath)}");
return 0;


// Saves the weights and metadata to `path` (written to a temporary file, then moved into place); called after every
// epoch with a checkpoint path too, so a long run leaves a usable checkpoint.
string Save(int epochsDone, bool final, string path)
{
    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    var temp = path + ".tmp";
    model.save(temp);
    File.Move(temp, path, overwrite: true);
    var metadata = new
    {
        model = "InputGradients.Models.FashionMnistNet",
        format = "TorchSharp Module.save (tensors only; load with FashionMnistNet.Load)",
        command = "dotnet run --project tools/TrainFashionMnist -c Release -- " + string.Join(" ", args),
        seed, epochs, epochs_done = epochsDone, finished = final, batch_size = batchSize, optimizer = "Adam", lr, lr_schedule = "cosine, per epoch",
        augmentation = flipAugment ? "random horizontal flip (p=0.5)" : "none",
        threads,
        training_images = trainX.shape[0],
        shuffled_labels_seed = shuffleLabels >= 0 ? (int?)shuffleLabels : null,
        test_accuracy = testAccuracy,
        train_accuracy = final ? (double?)trainAccuracy : null,
        training_seconds = Math.Round(total.Elapsed.TotalSeconds, 1),
        torchsharp = typeof(torch).Assembly.GetName().Version?.ToString(),
        machine = $"{Environment.ProcessorCount} logical cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}",
        history,
    };
    var jsonPath = Path.ChangeExtension(path, ".json");
    File.WriteAllText(jsonPath + ".tmp", JsonSerializer.Serialize(metadata, new JsonSerializerOptions { WriteIndented = true }) + "\n");
    File.Move(jsonPath + ".tmp", jsonPath, overwrite: true);
    return jsonPath;
}

static void Require(bool ok, string message)
{
    if (!ok) throw new ArgumentException(message);
}

static Dictionary<string, string> ParseArgs(string[] args)
{
    var known = new HashSet<string> { "epochs", "seed", "threads", "batch", "lr", "data", "out", "export-samples", "subset", "shuffle-labels", "flip" };
    var d = new Dictionary<string, string>();
    for (int i = 0; i < args.Length; i++)
    {
        if (!args[i].StartsWith("--") || i + 1 >= args.Length || !known.Contains(args[i][2..]))
            throw new ArgumentException($"unknown or incomplete option '{args[i]}'; options: --{string.Join(" --", known)} (each with a value)");
        d[args[i][2..]] = args[++i];
    }
    return d;
}
