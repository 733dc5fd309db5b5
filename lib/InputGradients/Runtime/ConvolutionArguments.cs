using static TorchSharp.torch;

namespace InputGradients.Runtime;

/// <summary>
/// The argument checks of the library's own convolution kernels (<see cref="Kn2Row"/>, <see cref="SystemOneDnn"/>):
/// <c>conv2d</c> of an N×C×H×W input by an O×C×kh×kw weight, explicit zero padding, one stride. Each refusal is one line
/// that starts with the kernel's name.
/// </summary>
static class ConvolutionArguments
{
    public static void Check(string kernel, Tensor input, Tensor weight, Tensor? bias, (long top, long bottom, long left, long right) padding, long stride)
    {
        var (top, bottom, left, right) = padding;
        if (input.dim() != 4 || weight.dim() != 4 || input.shape[1] != weight.shape[1])
            throw new ArgumentException($"{kernel}.conv2d: input [{string.Join(",", input.shape)}] and weight [{string.Join(",", weight.shape)}] do not make an N×C×H×W by O×C×kh×kw convolution.");
        if (top < 0 || bottom < 0 || left < 0 || right < 0)
            throw new ArgumentOutOfRangeException(nameof(padding), $"{kernel}.conv2d: padding must be non-negative, got ({top}, {bottom}, {left}, {right}).");
        if (stride < 1)
            throw new ArgumentOutOfRangeException(nameof(stride), $"{kernel}.conv2d: stride must be at least 1, got {stride}.");
        if (input.shape[2] + top + bottom < weight.shape[2] || input.shape[3] + left + right < weight.shape[3])
            throw new ArgumentException($"{kernel}.conv2d: a {weight.shape[2]}x{weight.shape[3]} kernel does not fit the padded {input.shape[2] + top + bottom}x{input.shape[3] + left + right} input.");
        if (bias is not null && (bias.dim() != 1 || bias.shape[0] != weight.shape[0]))
            throw new ArgumentException($"{kernel}.conv2d: bias [{string.Join(",", bias.shape)}] does not match {weight.shape[0]} output channels.");
    }
}
