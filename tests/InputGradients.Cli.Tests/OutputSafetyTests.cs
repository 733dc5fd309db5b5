using InputGradients.Data;
using static ToolSupport.Tests.ToolProcess;

namespace InputGradients.Cli.Tests;

/// <summary>
/// inputgrad run as its own process must never write over a file it reads: the same path, a symbolic link to it or a
/// hard link to it (same inode) as the output. Each input is hashed before and after.
/// </summary>
public sealed class OutputSafetyTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("inputgrad-safety-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    string Copy(string from, string name)
    {
        var to = Path.Combine(_dir, name);
        File.Copy(from, to);
        return to;
    }

    [Theory]
    [InlineData("same path")]
    [InlineData("another spelling")]
    [InlineData("symbolic link")]
    [InlineData("hard link")]
    public void Style_refuses_an_output_that_is_its_content_photo(string how)
    {
        var photo = Copy(DataDirectory.Path("images", "chelsea.png"), "in.png");
        var output = how switch
        {
            "same path" => "in.png",
            "another spelling" => Path.Combine(".", "sub", "..", "in.png"),
            "symbolic link" => "link.png",
            _ => "hard.png",
        };
        Directory.CreateDirectory(Path.Combine(_dir, "sub"));
        if (how == "symbolic link") Link("-s", "in.png", Path.Combine(_dir, "link.png"));
        if (how == "hard link") Link(photo, Path.Combine(_dir, "hard.png"));
        var before = Hash(photo);

        var (exit, text) = Run("inputgrad", _dir, "style", "in.png", DataDirectory.Path("styles", "starry_night.jpg"), "-o", output,
            "--size", "32", "--iterations", "1");

        Assert.True(exit == 1, text);
        Assert.Contains($"inputgrad: error: refusing to write {output}: it is the input file in.png; choose another output.", Unwrapped(text));
        Assert.Equal(before, Hash(photo));
    }

    [Fact]
    public void Style_refuses_an_output_that_is_its_style_image()
    {
        var style = Copy(DataDirectory.Path("styles", "starry_night.jpg"), "style.jpg");
        var before = Hash(style);
        var (exit, text) = Run("inputgrad", _dir, "style", DataDirectory.Path("images", "chelsea.png"), "style.jpg", "-o", "style.jpg",
            "--size", "32", "--iterations", "1");
        Assert.True(exit == 1, text);
        Assert.Contains("refusing to write style.jpg: it is the input file style.jpg", Unwrapped(text));
        Assert.Equal(before, Hash(style));
    }

    [Fact]
    public void Saliency_refuses_a_map_file_that_is_another_input_image()
    {
        // The first image's map would be written as chelsea.saliency.layer4-ch273.png, which is the second input.
        var first = Copy(DataDirectory.Path("images", "chelsea.png"), "chelsea.png");
        var second = Copy(DataDirectory.Path("images", "dog.jpg"), "chelsea.saliency.layer4-ch273.png");
        var before = HashTree(_dir);

        var (exit, text) = Run("inputgrad", _dir, "saliency", first, second, "--channel", "273", "-o", _dir);

        Assert.True(exit == 1, text);
        Assert.Contains($"refusing to write {second}: it is the input file {second}", Unwrapped(text));
        Assert.Equal(before, HashTree(_dir));   // nothing written, nothing changed
    }

    [Fact]
    public void Fooling_refuses_an_output_file_hard_linked_to_an_input_image()
    {
        var a = Copy(DataDirectory.Path("fashion-mnist", "test-00.png"), "a.png");
        var b = Copy(DataDirectory.Path("fashion-mnist", "test-01.png"), "b.png");
        Link(b, Path.Combine(_dir, "a.fooling.class0.png"));   // a's fooled image would go into b's inode
        var before = Hash(b);

        var (exit, text) = Run("inputgrad", _dir, "fooling", "--model", "fashion", "--class", "0", "--steps", "1", a, b, "-o", _dir);

        Assert.True(exit == 1, text);
        Assert.Contains($"refusing to write {Path.Combine(_dir, "a.fooling.class0.png")}: it is the input file {b}", Unwrapped(text));
        Assert.Equal(before, Hash(b));
    }

    [Fact]
    public void Classvis_refuses_an_output_file_hard_linked_to_the_weights()
    {
        var weights = Copy(DataDirectory.Path("models", "fashion-mnist-cnn.bin"), "weights.bin");
        Link(weights, Path.Combine(_dir, "classvis.fashion.class0.png"));
        var before = Hash(weights);

        var (exit, text) = Run("inputgrad", _dir, "classvis", "--model", "fashion", "--weights", weights, "--class", "0", "--steps", "1", "-o", _dir);

        Assert.True(exit == 1, text);
        Assert.Contains($"it is the input file {weights}", Unwrapped(text));
        Assert.Equal(before, Hash(weights));
    }

    [Fact]
    public void Output_folder_holding_the_inputs_is_fine()
    {
        var photo = Copy(DataDirectory.Path("fashion-mnist", "test-00.png"), "a.png");
        var before = Hash(photo);
        var (exit, text) = Run("inputgrad", _dir, "saliency", "--model", "fashion", "a.png", "-o", ".");
        Assert.True(exit == 0, text);
        Assert.Single(Directory.GetFiles(_dir, "a.saliency.class*.overlay.png"));
        Assert.Equal(before, Hash(photo));
    }

    [Fact]
    public void A_huge_step_count_is_one_error_line_without_a_stack_trace()
    {
        var (exit, text) = Run("inputgrad", _dir, "ig", DataDirectory.Path("images", "chelsea.png"), "--steps", "2147483647", "-o", _dir);
        Assert.Equal(1, exit);
        Assert.Equal("inputgrad: error: --steps must be between 1 and 1000, got 2147483647.", Unwrapped(text));
    }
}
