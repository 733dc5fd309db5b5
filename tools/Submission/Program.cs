using Submission;
using ToolSupport;

// submission --notebooks out/notebooks --out out/submission [--root .] [--allow-partial]
// Executed notebooks in, Gradescope PDFs (one per notebook and one combined) and the code zip out. The problem set is
// the notebooks in ROOT/notebooks: a folder lacking any of them is refused unless --allow-partial.
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
    /// <param name="ProblemSet">The folder whose notebooks make up the problem set (default ROOT/notebooks): the
    /// submission must have an executed copy of each.</param>
    /// <param name="AllowPartial">Build from the problem-set notebooks that are there even if some are missing.</param>
    /// <param name="StudentFile">The settings file with the student's name and collaborators (default ROOT/student.json).</param>
    public sealed record Options(string Notebooks, string Out, string Root, string Title, bool AllowPartial = false, string? ProblemSet = null,
        string? StudentFile = null)
    {
        public const string Usage =
            "usage: submission --notebooks <executed notebooks dir> --out <dir> [--root <repo>] [--title <text>] [--allow-partial] [--problem-set <dir>] [--student <student.json>]";

        public string ProblemSetFolder => ProblemSet ?? Path.Combine(Root, "notebooks");

        public string StudentPath => StudentFile ?? StudentInfo.PathIn(Root);

        public static Options Parse(string[] args)
        {
            string? notebooks = null, output = null, root = null, problemSet = null, student = null, title = "CS 7643 Problem Set 2";
            var allowPartial = false;
            for (var i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
                switch (args[i])
                {
                    case "--notebooks": notebooks = Next(); break;
                    case "--out": output = Next(); break;
                    case "--root": root = Next(); break;
                    case "--title": title = Next(); break;
                    case "--allow-partial": allowPartial = true; break;
                    case "--problem-set": problemSet = Next(); break;
                    case "--student": student = Next(); break;
                    case "-h" or "--help": throw new ArgumentException(Usage);
                    default: throw new ArgumentException($"Unknown argument '{args[i]}'. Try --help.");
                }
            }
            root ??= InputGradients.Shared.RepositoryRoot.TryFind(InputGradients.Shared.RepositoryRoot.Marker, Directory.GetCurrentDirectory())
                ?? throw new DirectoryNotFoundException($"No {InputGradients.Shared.RepositoryRoot.Marker} above {Directory.GetCurrentDirectory()}; pass --root.");
            return new Options(
                notebooks ?? Path.Combine(root, "out", "notebooks"),
                output ?? Path.Combine(root, "out", "submission"),
                root, title, allowPartial, problemSet, student);
        }
    }

    public static class Builder
    {
        public const string MathJaxRelativePath = "node_modules/mathjax/es5/tex-svg-full.js";
        public const string CombinedName = "problem-set-2";

        public static async Task<int> RunAsync(Options o, TextWriter log)
        {
            if (!Directory.Exists(o.Notebooks))
                throw new DirectoryNotFoundException($"No executed notebooks at {o.Notebooks}: run `./run notebooks` first.");
            var notebooks = ProblemSet.Select(o, log).Select(IpynbNotebook.Load).ToList();
            CheckOutputFolder(o, notebooks.Select(nb => nb.Name));
            var failures = notebooks.SelectMany(nb => nb.Errors().Select(e => $"{nb.Name}, cell {e.Cell.Index + 1}: {e.Error}")).ToList();
            if (failures.Count > 0)
                throw new InvalidOperationException("Refusing to build a submission from notebooks with failed cells:\n  " + string.Join("\n  ", failures));
            var notRun = notebooks.SelectMany(nb => nb.NotRun().Select(c => $"{nb.Name}, cell {c.Index + 1}: {c.Source.Trim().Split('\n')[0]}")).ToList();
            if (notRun.Count > 0)
                throw new InvalidOperationException(
                    "Refusing to build a submission from notebooks whose code was not run (no execution count); run them " +
                    "(./run notebooks, or run all cells in VS Code and save) first:\n  " + string.Join("\n  ", notRun.Take(10)) +
                    (notRun.Count > 10 ? $"\n  … and {notRun.Count - 10} more" : ""));

            // Read before anything is printed, so a malformed file stops the build at once.
            var student = StudentInfo.Load(o.StudentPath);
            if (student is null)
                log.WriteLine($"warning: {o.StudentPath} not found: every PDF starts with a placeholder title page; " +
                              $"create it with your name and collaborators, e.g. {StudentInfo.Example}");

            var mathJaxPath = Path.Combine(o.Root, MathJaxRelativePath);
            if (!File.Exists(mathJaxPath))
                throw new FileNotFoundException($"MathJax not found at {mathJaxPath}: run `./run setup` (npm ci) first.");
            var mathJax = await File.ReadAllTextAsync(mathJaxPath);

            var htmlDir = Directory.CreateDirectory(Path.Combine(o.Out, "html")).FullName;
            var jobs = notebooks.Select(nb => (Name: nb.Name, Title: $"{o.Title}: {nb.Name}", Notebooks: (IReadOnlyList<IpynbNotebook>)[nb])).ToList();
            jobs.Add((CombinedName, o.Title, notebooks));

            await using var printer = await PdfPrinter.StartAsync();
            var step = 0;
            foreach (var job in jobs)
            {
                var html = Path.Combine(htmlDir, job.Name + ".html");
                var titlePage = StudentInfo.TitlePageHtml(student, job.Title, job.Notebooks.Select(nb => nb.Name).ToList(), o.StudentPath);
                await WriteAtomicAsync(html, NotebookHtml.Render(job.Notebooks, job.Title, mathJax, titlePage));
                var pdf = Path.Combine(o.Out, job.Name + ".pdf");
                var page = await printer.PrintAsync(html, pdf, job.Title);
                if (page.MathErrors > 0 || page.UndrawnCharts > 0)
                    throw new InvalidOperationException(
                        $"{job.Name}: {page.MathErrors} formula(s) MathJax could not typeset and {page.UndrawnCharts} chart(s) not drawn " +
                        $"(see {Path.GetRelativePath(o.Root, html)} in a browser).");
                log.WriteLine($"[{++step}/{jobs.Count + 1}] {Path.GetRelativePath(o.Root, pdf)}");
            }
            var zip = Path.Combine(o.Out, "code.zip");
            var files = CodeZip.Create(o.Root, notebooks.Select(nb => nb.Path).ToList(), zip);
            log.WriteLine($"[{jobs.Count + 1}/{jobs.Count + 1}] {Path.GetRelativePath(o.Root, zip)} ({files} files, {new FileInfo(zip).Length / 1024} KiB)");
            return 0;
        }

        static async Task WriteAtomicAsync(string path, string text)
        {
            var temp = $"{path}.{Guid.NewGuid():N}.tmp";   // a fresh name: never an existing file
            await File.WriteAllTextAsync(temp, text);
            File.Move(temp, path, overwrite: true);
        }

        /// <summary>
        /// Nothing written may land on a notebook it reads: the output folder must not be the executed notebooks' folder
        /// or the problem set's source folder (links resolved), and no file it writes may be a link to an input notebook.
        /// </summary>
        static void CheckOutputFolder(Options o, IEnumerable<string> names)
        {
            foreach (var (folder, what) in new[] { (o.Notebooks, "the executed notebooks' folder"), (o.ProblemSetFolder, "the problem set's notebooks folder") })
                if (PathIdentity.SameFile(o.Out, folder))
                    throw new ArgumentException($"--out {o.Out} is {what} {folder}; choose another output folder.");
            var inputs = Directory.EnumerateFiles(o.Notebooks, "*.ipynb").Concat(Directory.EnumerateFiles(o.ProblemSetFolder, "*.ipynb")).ToList();
            var outputs = names.Append(CombinedName).SelectMany(n => new[] { Path.Combine(o.Out, n + ".pdf"), Path.Combine(o.Out, "html", n + ".html") })
                .Append(Path.Combine(o.Out, "code.zip"));
            foreach (var output in outputs)
                foreach (var input in inputs)
                    if (PathIdentity.SameFile(output, input))
                        throw new ArgumentException($"refusing to write {output}: it is the input notebook {input} (a link to it); choose another output folder.");
        }
    }
}
