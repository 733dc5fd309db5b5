using Submission;

// submission --notebooks out/notebooks --out out/submission [--root .]
// Executed notebooks in, Gradescope PDFs (one per notebook and one combined) and the code zip out.
try
{
    var options = Options.Parse(args);
    return await Builder.RunAsync(options, Console.Out);
}
catch (Exception e) when (e is ArgumentException or FileNotFoundException or InvalidDataException or InvalidOperationException or DirectoryNotFoundException)
{
    Console.Error.WriteLine($"submission: {e.Message}");
    return 1;
}
catch (Exception e)
{
    // Chromium failing to start or to answer, a disk error: one line that says what broke, then the detail.
    Console.Error.WriteLine($"submission: failed ({e.GetType().Name}): {e.Message}");
    return 1;
}

namespace Submission
{
    public sealed record Options(string Notebooks, string Out, string Root, string Title)
    {
        public static Options Parse(string[] args)
        {
            string? notebooks = null, output = null, root = null, title = "CS 7643 Problem Set 2";
            for (var i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
                switch (args[i])
                {
                    case "--notebooks": notebooks = Next(); break;
                    case "--out": output = Next(); break;
                    case "--root": root = Next(); break;
                    case "--title": title = Next(); break;
                    case "-h" or "--help":
                        throw new ArgumentException("usage: submission --notebooks <executed notebooks dir> --out <dir> [--root <repo>] [--title <text>]");
                    default: throw new ArgumentException($"Unknown argument '{args[i]}'. Try --help.");
                }
            }
            root ??= FindRoot(Directory.GetCurrentDirectory());
            return new Options(
                notebooks ?? Path.Combine(root, "out", "notebooks"),
                output ?? Path.Combine(root, "out", "submission"),
                root, title);
        }

        static string FindRoot(string start)
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Notebooks.sln"))) return dir.FullName;
            throw new DirectoryNotFoundException($"No Notebooks.sln above {start}; pass --root.");
        }
    }

    public static class Builder
    {
        public const string MathJaxRelativePath = "node_modules/mathjax/es5/tex-svg-full.js";

        public static async Task<int> RunAsync(Options o, TextWriter log)
        {
            if (!Directory.Exists(o.Notebooks))
                throw new DirectoryNotFoundException($"No executed notebooks at {o.Notebooks}: run `./run notebooks` first.");
            // Dot-files are scratch copies (e.g. a killed runner's temporary output), never part of the submission.
            var notebooks = Directory.EnumerateFiles(o.Notebooks, "*.ipynb")
                .Where(p => !Path.GetFileName(p).StartsWith('.'))
                .Order(StringComparer.Ordinal).Select(IpynbNotebook.Load).ToList();
            if (notebooks.Count == 0) throw new InvalidOperationException($"No .ipynb files in {o.Notebooks}.");
            var failures = notebooks.SelectMany(nb => nb.Errors().Select(e => $"{nb.Name}, cell {e.Cell.Index + 1}: {e.Error}")).ToList();
            if (failures.Count > 0)
                throw new InvalidOperationException("Refusing to build a submission from notebooks with failed cells:\n  " + string.Join("\n  ", failures));
            var notRun = notebooks.SelectMany(nb => nb.NotRun().Select(c => $"{nb.Name}, cell {c.Index + 1}: {c.Source.Trim().Split('\n')[0]}")).ToList();
            if (notRun.Count > 0)
                throw new InvalidOperationException(
                    "Refusing to build a submission from notebooks whose code was not run (no execution count); run them " +
                    "(./run notebooks, or run all cells in VS Code and save) first:\n  " + string.Join("\n  ", notRun.Take(10)) +
                    (notRun.Count > 10 ? $"\n  … and {notRun.Count - 10} more" : ""));

            var mathJaxPath = Path.Combine(o.Root, MathJaxRelativePath);
            if (!File.Exists(mathJaxPath))
                throw new FileNotFoundException($"MathJax not found at {mathJaxPath}: run `./run setup` (npm ci) first.");
            var mathJax = await File.ReadAllTextAsync(mathJaxPath);

            var htmlDir = Directory.CreateDirectory(Path.Combine(o.Out, "html")).FullName;
            var jobs = notebooks.Select(nb => (Name: nb.Name, Title: $"{o.Title}: {nb.Name}", Notebooks: (IReadOnlyList<IpynbNotebook>)[nb])).ToList();
            jobs.Add(("problem-set-2", o.Title, notebooks));

            await using var printer = await PdfPrinter.StartAsync();
            var step = 0;
            foreach (var job in jobs)
            {
                var html = Path.Combine(htmlDir, job.Name + ".html");
                await WriteAtomicAsync(html, NotebookHtml.Render(job.Notebooks, job.Title, mathJax));
                var pdf = Path.Combine(o.Out, job.Name + ".pdf");
                var page = await printer.PrintAsync(html, pdf, job.Title);
                if (page.MathErrors > 0 || page.UndrawnCharts > 0)
                    throw new InvalidOperationException(
                        $"{job.Name}: {page.MathErrors} formula(s) MathJax could not typeset and {page.UndrawnCharts} chart(s) not drawn " +
                        $"(see {Path.GetRelativePath(o.Root, html)} in a browser).");
                log.WriteLine($"[{++step}/{jobs.Count + 1}] {Path.GetRelativePath(o.Root, pdf)}");
            }
            var zip = Path.Combine(o.Out, "code.zip");
            var files = CodeZip.Create(o.Root, o.Notebooks, zip);
            log.WriteLine($"[{jobs.Count + 1}/{jobs.Count + 1}] {Path.GetRelativePath(o.Root, zip)} ({files} files, {new FileInfo(zip).Length / 1024} KiB)");
            return 0;
        }

        static async Task WriteAtomicAsync(string path, string text)
        {
            await File.WriteAllTextAsync(path + ".tmp", text);
            File.Move(path + ".tmp", path, overwrite: true);
        }
    }
}
