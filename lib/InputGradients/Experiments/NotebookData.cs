using InputGradients.Data;
using InputGradients.Imaging;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Experiments;

/// <summary>The inputs the question-6 notebooks use, loaded in one call each.</summary>
public static class NotebookData
{
    /// <summary>
    /// The first <paramref name="count"/> Fashion-MNIST test images committed under <c>data/fashion-mnist/</c>:
    /// images (N,1,28,28) on 0-1, labels (N) and the class name of each label.
    /// </summary>
    public static (Tensor Images, Tensor Labels, string[] Names) FashionMnistTest(int count = 5)
    {
        using var scope = torch.NewDisposeScope();
        var (images, labels) = FashionMnist.LoadSamples();
        if (count < 1 || count > images.shape[0])
            throw new ArgumentOutOfRangeException(nameof(count), $"FashionMnistTest: {images.shape[0]} test images are committed under data/fashion-mnist/, asked for {count}.");
        var x = images.narrow(0, 0, count).contiguous();
        var y = labels.narrow(0, 0, count).contiguous();
        var classNames = ClassNames.FashionMnist();
        var names = y.data<long>().Select(l => classNames[(int)l]).ToArray();
        return (x.MoveToOuterDisposeScope(), y.MoveToOuterDisposeScope(), names);
    }

    /// <summary>
    /// Photos from <c>data/images/</c> (file names such as <c>"chelsea.png"</c>) as one batch N×3×<paramref name="crop"/>²
    /// RGB on 0-255, preprocessed like torchvision's <c>Resize(resize)</c> then <c>CenterCrop(crop)</c>.
    /// </summary>
    public static Tensor Photos(IEnumerable<string> files, int resize = 256, int crop = 224, PixelScale scale = PixelScale.Byte)
    {
        var list = files.ToList();
        if (list.Count == 0) throw new ArgumentException("Photos: no file names given.", nameof(files));
        if (crop > resize) throw new ArgumentOutOfRangeException(nameof(crop), $"Photos: crop {crop} is larger than the resized shorter side {resize}.");
        using var scope = torch.NewDisposeScope();
        var images = list.Select(f => {
            var path = Path.IsPathRooted(f) ? f : DataDirectory.Path("images", f);
            var img = ImageIO.Load(path, scale);
            return Transforms.CenterCrop(Transforms.Resize(img, resize), crop);
        }).ToArray();
        return torch.stack(images).MoveToOuterDisposeScope();
    }
}
