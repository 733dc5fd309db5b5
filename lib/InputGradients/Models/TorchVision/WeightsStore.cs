using System.Diagnostics;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;

namespace InputGradients.Models.TorchVision;

/// <summary>A weights file published at <paramref name="Url"/> whose SHA-256, in hex, starts with
/// <paramref name="Sha256Prefix"/> (torchvision puts that prefix in the file name: <c>name-&lt;prefix&gt;.pth</c>).</summary>
public sealed record WeightsInfo(string Name, Uri Url, string Sha256Prefix)
{
    public string FileName => Path.GetFileName(Url.AbsolutePath);
}

/// <summary>Weights could not be had: offline, server error, or a file whose hash is wrong.</summary>
public sealed class WeightsUnavailableException : IOException
{
    public WeightsUnavailableException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>
/// Finds weight files in a cache folder and, only when asked to, downloads them: connect timeout of a few seconds,
/// SHA-256 checked against the published prefix, written to a temporary file and renamed into place so a partial
/// download is never taken for a good one. The default folder is torch hub's (<c>$TORCH_HOME/hub/checkpoints</c>,
/// else <c>~/.cache/torch/hub/checkpoints</c>), so files PyTorch already downloaded are found; the environment
/// variable <c>INPUTGRADIENTS_WEIGHTS</c> overrides it.
/// </summary>
public sealed class WeightsStore
{
    /// <summary>torchvision's ImageNet weights for SqueezeNet 1.1 (<c>SqueezeNet1_1_Weights.IMAGENET1K_V1</c>).</summary>
    public static readonly WeightsInfo SqueezeNet1_1 =
        new("squeezenet1_1", new Uri("https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth"), "b8a52dc0");

    /// <summary>torchvision's ImageNet weights for ResNet-18 (<c>ResNet18_Weights.IMAGENET1K_V1</c>).</summary>
    public static readonly WeightsInfo ResNet18 =
        new("resnet18", new Uri("https://download.pytorch.org/models/resnet18-f37072fd.pth"), "f37072fd");

    public string CacheDirectory { get; }
    public TimeSpan ConnectTimeout { get; }
    /// <summary>Longest wait for any one read of the download before giving up.</summary>
    public TimeSpan ReadTimeout { get; }
    /// <summary>Where progress goes (default: a text bar on standard error); set to null for none.</summary>
    public Action<long, long?>? Progress { get; init; } = ConsoleProgress;

    public WeightsStore(string? cacheDirectory = null, TimeSpan? connectTimeout = null, TimeSpan? readTimeout = null)
    {
        CacheDirectory = cacheDirectory ?? DefaultCacheDirectory();
        ConnectTimeout = connectTimeout ?? TimeSpan.FromSeconds(5);
        ReadTimeout = readTimeout ?? TimeSpan.FromSeconds(30);
    }

    public static string DefaultCacheDirectory()
    {
        var own = Environment.GetEnvironmentVariable("INPUTGRADIENTS_WEIGHTS");
        if (!string.IsNullOrEmpty(own)) return own;
        var torchHome = Environment.GetEnvironmentVariable("TORCH_HOME");
        if (string.IsNullOrEmpty(torchHome))
        {
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (string.IsNullOrEmpty(xdg)) xdg = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            torchHome = Path.Combine(xdg, "torch");
        }
        return Path.Combine(torchHome, "hub", "checkpoints");
    }

    /// <summary>Where the file of <paramref name="weights"/> is (or would be) kept.</summary>
    public string PathFor(WeightsInfo weights) => Path.Combine(CacheDirectory, weights.FileName);

    /// <summary>The cached file's path if it exists; throws if it exists with the wrong hash.</summary>
    public string? TryGetCached(WeightsInfo weights)
    {
        var path = PathFor(weights);
        if (!File.Exists(path)) return null;
        string hash;
        using (var f = File.OpenRead(path)) hash = Convert.ToHexStringLower(SHA256.HashData(f));
        if (!hash.StartsWith(weights.Sha256Prefix, StringComparison.Ordinal))
            throw new WeightsUnavailableException(
                $"{path} has SHA-256 {hash}, which does not start with {weights.Sha256Prefix} as {weights.FileName} must; " +
                "it is damaged or a different file. Delete it, or load your own checkpoint by path.");
        return path;
    }

    /// <summary>
    /// The path of the weights file: the cached copy if there is one; otherwise, if <paramref name="download"/>,
    /// downloads it; otherwise throws a <see cref="FileNotFoundException"/> saying where to put the file.
    /// </summary>
    public string Get(WeightsInfo weights, bool download)
    {
        var cached = TryGetCached(weights);
        if (cached is not null) return cached;
        if (!download)
            throw new FileNotFoundException(
                $"{weights.Name} weights are not at {PathFor(weights)}. Pass download: true to fetch them from {weights.Url}, " +
                $"or place the file there yourself (its SHA-256 starts with {weights.Sha256Prefix}).", PathFor(weights));
        return Download(weights);
    }

    /// <summary>Downloads <paramref name="weights"/> into the cache (replacing any file there) and returns its path.</summary>
    public string Download(WeightsInfo weights)
    {
        var dest = PathFor(weights);
        Directory.CreateDirectory(CacheDirectory);
        var tmp = Path.Combine(CacheDirectory, $".{weights.FileName}.{Guid.NewGuid():N}.partial");
        string Unreachable(string why) =>
            $"could not reach {weights.Url} ({why}); place the file at {dest} instead (its SHA-256 starts with {weights.Sha256Prefix}).";
        try
        {
            using var handler = new SocketsHttpHandler { ConnectTimeout = ConnectTimeout, AllowAutoRedirect = true };
            using var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
            using var cts = new CancellationTokenSource(ConnectTimeout + ReadTimeout);
            HttpResponseMessage response;
            try
            {
                response = client.GetAsync(weights.Url, HttpCompletionOption.ResponseHeadersRead, cts.Token).GetAwaiter().GetResult();
            }
            catch (HttpRequestException e) { throw new WeightsUnavailableException(Unreachable(e.Message), e); }
            catch (OperationCanceledException e) { throw new WeightsUnavailableException(Unreachable($"no answer within {(ConnectTimeout + ReadTimeout).TotalSeconds:0} s"), e); }
            using (response)
            {
                if (!response.IsSuccessStatusCode)
                    throw new WeightsUnavailableException(Unreachable($"the server answered {(int)response.StatusCode} {response.ReasonPhrase}"));
                long? total = response.Content.Headers.ContentLength;
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                using (var output = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
                using (var input = response.Content.ReadAsStream())
                {
                    var buffer = new byte[1 << 16];
                    long done = 0;
                    while (true)
                    {
                        int n;
                        try
                        {
                            // An idle timer per read: a stalled connection fails instead of hanging.
                            using var idle = new CancellationTokenSource(ReadTimeout);
                            n = input.ReadAsync(buffer, idle.Token).AsTask().GetAwaiter().GetResult();
                        }
                        catch (Exception e) when (e is IOException or OperationCanceledException or HttpRequestException)
                        {
                            throw new WeightsUnavailableException(Unreachable($"the download broke off after {done} bytes: {e.Message}"), e);
                        }
                        if (n == 0) break;
                        output.Write(buffer, 0, n);
                        sha.AppendData(buffer, 0, n);
                        done += n;
                        Progress?.Invoke(done, total);
                    }
                    if (total is long t && done != t)
                        throw new WeightsUnavailableException(Unreachable($"the download ended after {done} of {t} bytes"));
                }
                var hash = Convert.ToHexStringLower(sha.GetHashAndReset());
                if (!hash.StartsWith(weights.Sha256Prefix, StringComparison.Ordinal))
                    throw new WeightsUnavailableException(
                        $"the file downloaded from {weights.Url} has SHA-256 {hash}, which does not start with {weights.Sha256Prefix}; " +
                        $"it was not kept. Try again, or place the right file at {dest}.");
            }
            File.Move(tmp, dest, overwrite: true);
            return dest;
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    private static int lastPercent = -1;

    private static void ConsoleProgress(long done, long? total)
    {
        if (total is not long t || t <= 0) return;
        int percent = (int)(100 * done / t);
        if (percent == lastPercent && done != t) return;
        lastPercent = percent;
        int filled = percent / 5;
        Console.Error.Write($"\r[{new string('#', filled)}{new string(' ', 20 - filled)}] {percent,3}% {done / 1e6:0.0}/{t / 1e6:0.0} MB");
        if (done == t) { Console.Error.WriteLine(); lastPercent = -1; }
    }
}
