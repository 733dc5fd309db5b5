using PuppeteerSharp;
using PuppeteerSharp.Media;

namespace Submission;

/// <summary>
/// Prints a local HTML file to PDF with the machine's headless Chromium (offline: every flag that would make
/// Chromium reach out is off). Waits until the page says maths and charts are ready.
/// </summary>
public sealed class PdfPrinter : IAsyncDisposable
{
    static readonly string[] ChromiumCandidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

    readonly IBrowser _browser;
    readonly string _profile;

    PdfPrinter(IBrowser browser, string profile) => (_browser, _profile) = (browser, profile);

    public static string FindChromium()
    {
        var configured = Environment.GetEnvironmentVariable("CHROMIUM_PATH");
        if (!string.IsNullOrEmpty(configured))
            return File.Exists(configured) ? configured
                : throw new FileNotFoundException($"CHROMIUM_PATH points at '{configured}', which does not exist.");
        return ChromiumCandidates.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException(
                "No Chromium found (looked for " + string.Join(", ", ChromiumCandidates) + "). " +
                "Install Debian's chromium package (`./run setup` does it) or set CHROMIUM_PATH.");
    }

    public static async Task<PdfPrinter> StartAsync()
    {
        var profile = Directory.CreateTempSubdirectory("submission-chromium-").FullName;
        var browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            Headless = true,
            ExecutablePath = FindChromium(),
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", $"--user-data-dir={profile}",
            ],
        });
        return new PdfPrinter(browser, profile);
    }

    /// <summary>What the page reported before printing.</summary>
    public readonly record struct PageReport(int MathErrors, int UndrawnCharts);

    /// <summary>Renders <paramref name="htmlPath"/> to <paramref name="pdfPath"/>; returns the TeX errors and undrawn charts the page reported.</summary>
    public async Task<PageReport> PrintAsync(string htmlPath, string pdfPath, string footerTitle, TimeSpan? timeout = null)
    {
        await using var page = await _browser.NewPageAsync();
        await page.GoToAsync(new Uri(Path.GetFullPath(htmlPath)).AbsoluteUri,
            new NavigationOptions { Timeout = (int)(timeout ?? TimeSpan.FromMinutes(2)).TotalMilliseconds, WaitUntil = [WaitUntilNavigation.Load] });
        await page.WaitForFunctionAsync("() => window.__submissionReady === true",
            new WaitForFunctionOptions { Timeout = (int)(timeout ?? TimeSpan.FromMinutes(2)).TotalMilliseconds });
        var mathErrors = await page.EvaluateExpressionAsync<int>("window.__mathErrors || 0");
        var undrawn = await page.EvaluateExpressionAsync<int>("window.__undrawnCharts || 0");
        var temp = pdfPath + ".tmp";
        await page.PdfAsync(temp, new PdfOptions
        {
            Format = PaperFormat.A4,
            PrintBackground = true,
            PreferCSSPageSize = true,
            DisplayHeaderFooter = true,
            HeaderTemplate = "<span></span>",
            FooterTemplate =
                $"<div style=\"font-size:7pt;width:100%;padding:0 12mm;color:#666;display:flex;justify-content:space-between\">" +
                $"<span>{System.Net.WebUtility.HtmlEncode(footerTitle)}</span><span><span class=\"pageNumber\"></span> / <span class=\"totalPages\"></span></span></div>",
        });
        File.Move(temp, pdfPath, overwrite: true);
        return new PageReport(mathErrors, undrawn);
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.CloseAsync();
        _browser.Dispose();
        try { Directory.Delete(_profile, recursive: true); } catch (IOException) { /* Chromium may still hold a lock file */ }
    }
}
