using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using InputGradients.Models.TorchVision;
using InputGradients.Tests.Serialization;

namespace InputGradients.Tests.Models;

/// <summary>Only loopback servers made here; never the internet.</summary>
public class TorchVisionWeightsStoreTests
{
    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    /// <summary>Serves <paramref name="files"/> by path on 127.0.0.1 until disposed; anything else is 404.</summary>
    private sealed class LoopbackServer : IDisposable
    {
        private readonly HttpListener listener = new();
        public int Port { get; } = FreePort();
        public int Requests;

        public LoopbackServer(Dictionary<string, byte[]> files)
        {
            listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
            listener.Start();
            _ = Task.Run(async () =>
            {
                while (listener.IsListening)
                {
                    HttpListenerContext ctx;
                    try { ctx = await listener.GetContextAsync(); }
                    catch { return; }
                    Interlocked.Increment(ref Requests);
                    if (files.TryGetValue(ctx.Request.Url!.AbsolutePath, out var body))
                    {
                        ctx.Response.ContentLength64 = body.Length;
                        await ctx.Response.OutputStream.WriteAsync(body);
                    }
                    else ctx.Response.StatusCode = 404;
                    ctx.Response.Close();
                }
            });
        }

        public Uri Url(string path) => new($"http://127.0.0.1:{Port}{path}");
        public void Dispose() => listener.Close();
    }

    private static string Sha256(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    [Fact]
    public void Downloads_verifies_and_caches_then_loads_offline()
    {
        var body = File.ReadAllBytes(TorchVisionFixtures.File("squeezenet1_1.pth"));
        var prefix = Sha256(body)[..8];
        using var server = new LoopbackServer(new() { [$"/models/squeezenet1_1-{prefix}.pth"] = body });
        using var cache = new TempDir();
        var info = new WeightsInfo("squeezenet1_1", server.Url($"/models/squeezenet1_1-{prefix}.pth"), prefix);
        var store = new WeightsStore(Path.Combine(cache.Path, "checkpoints")) { Progress = null };

        Assert.Throws<FileNotFoundException>(() => store.Get(info, download: false));
        var path = store.Get(info, download: true);
        Assert.Equal(Path.Combine(cache.Path, "checkpoints", $"squeezenet1_1-{prefix}.pth"), path);
        Assert.Equal(body, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!)); // no partial file left
        Assert.Equal(1, server.Requests);

        // Cached: no second request.
        Assert.Equal(path, store.Get(info, download: true));
        Assert.Equal(1, server.Requests);

        using var model = Pretrained.SqueezeNet1_1(weightsPath: path);
        Assert.False(model.training);
    }

    [Fact]
    public void A_hash_mismatch_keeps_nothing()
    {
        var body = new byte[10_000];
        new Random(5).NextBytes(body);
        var wrong = Sha256(body)[..8] == "00000000" ? "11111111" : "00000000";
        using var server = new LoopbackServer(new() { ["/w-00000000.pth"] = body });
        using var cache = new TempDir();
        var store = new WeightsStore(cache.Path) { Progress = null };
        var info = new WeightsInfo("w", server.Url("/w-00000000.pth"), wrong);
        var e = Assert.Throws<WeightsUnavailableException>(() => store.Get(info, download: true));
        Assert.Contains($"does not start with {wrong}", e.Message);
        Assert.Contains(Sha256(body), e.Message);
        Assert.Empty(Directory.GetFiles(cache.Path, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void A_cached_file_with_the_wrong_hash_is_not_used()
    {
        using var cache = new TempDir();
        var store = new WeightsStore(cache.Path) { Progress = null };
        File.WriteAllText(store.PathFor(WeightsStore.SqueezeNet1_1), "not the weights");
        var e = Assert.Throws<WeightsUnavailableException>(() => store.Get(WeightsStore.SqueezeNet1_1, download: false));
        Assert.Contains("does not start with b8a52dc0", e.Message);
    }

    [Fact]
    public void Offline_fails_fast_and_says_where_to_put_the_file()
    {
        using var cache = new TempDir();
        var store = new WeightsStore(cache.Path) { Progress = null };
        var info = new WeightsInfo("squeezenet1_1", new Uri($"http://127.0.0.1:{FreePort()}/squeezenet1_1-b8a52dc0.pth"), "b8a52dc0");
        var sw = Stopwatch.StartNew();
        var e = Assert.Throws<WeightsUnavailableException>(() => store.Get(info, download: true));
        sw.Stop();
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3), $"took {sw.Elapsed}");
        Assert.Contains($"could not reach {info.Url}", e.Message);
        Assert.Contains($"place the file at {store.PathFor(info)} instead", e.Message);
        Assert.Empty(Directory.GetFiles(cache.Path));
    }

    [Fact]
    public void Not_downloading_without_being_asked_names_the_url_and_the_place()
    {
        using var cache = new TempDir();
        var e = Assert.Throws<FileNotFoundException>(() => Pretrained.SqueezeNet1_1(store: new WeightsStore(cache.Path)));
        Assert.Contains("download: true", e.Message);
        Assert.Contains(WeightsStore.SqueezeNet1_1.Url.ToString(), e.Message);
        Assert.Contains(Path.Combine(cache.Path, "squeezenet1_1-b8a52dc0.pth"), e.Message);
    }

    [Fact]
    public void A_server_error_is_reported_with_its_status()
    {
        using var server = new LoopbackServer(new());
        using var cache = new TempDir();
        var store = new WeightsStore(cache.Path) { Progress = null };
        var e = Assert.Throws<WeightsUnavailableException>(() => store.Get(new WeightsInfo("x", server.Url("/x-12345678.pth"), "12345678"), download: true));
        Assert.Contains("404", e.Message);
    }

    [Fact]
    public void Official_file_names_carry_their_hash_prefix()
    {
        foreach (var w in new[] { WeightsStore.SqueezeNet1_1, WeightsStore.ResNet18 })
        {
            Assert.Equal("https", w.Url.Scheme);
            Assert.EndsWith($"-{w.Sha256Prefix}.pth", w.FileName);
            Assert.StartsWith(w.Name, w.FileName);
        }
    }
}
