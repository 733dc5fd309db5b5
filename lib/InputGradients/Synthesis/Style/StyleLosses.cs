using System.Runtime.CompilerServices;
using InputGradients.Core;
using static TorchSharp.torch;

namespace InputGradients.Synthesis.Style;

/// <summary>
/// The losses of neural style transfer (Gatys, Ecker and Bethge, "Image Style Transfer Using Convolutional Neural
/// Networks", CVPR 2016), with the definitions of the original assignment so its self-checks apply unchanged.
/// All return 0-dimensional tensors that are part of the autograd graph.
/// </summary>
public static class StyleLosses
{
    /// <summary>Content loss: <c>w_c · Σ (F − P)²</c> over all features of the content layer.</summary>
    /// <param name="content_weight">w_c.</param>
    /// <param name="content_current">F: features of the image being optimised, 1×C×H×W.</param>
    /// <param name="content_original">P: features of the content image, same shape.</param>
    public static Tensor content_loss(double content_weight, Tensor content_current, Tensor content_original)
    {
        RequireSameShape(content_current, content_original, "content_loss");
        using var scope = NewDisposeScope();
        return (content_current - content_original).pow_scalar(2).sum().mul_scalar(content_weight).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Gram matrix of features N×C×H×W: G[n] = F F^T with F = features[n] reshaped to C×(H·W), so that
    /// G[n, i, j] = Σ_hw F_i F_j; divided by H·W·C when <paramref name="normalize"/>. Result N×C×C.
    /// </summary>
    public static Tensor gram_matrix(Tensor features, bool normalize = true)
    {
        if (features.dim() != 4)
            throw new ArgumentException($"gram_matrix: expected features N×C×H×W, got shape [{string.Join(",", features.shape)}].");
        using var scope = NewDisposeScope();
        var (n, c, h, w) = (features.shape[0], features.shape[1], features.shape[2], features.shape[3]);
        var f = features.reshape(n, c, h * w);
        var gram = bmm(f, f.transpose(1, 2));
        if (normalize) gram = gram.div_scalar(h * w * c);
        return gram.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Style loss: <c>Σ_l w_l · Σ (G_l − A_l)²</c>, where G_l is the Gram matrix of the current image's features at
    /// style layer l and A_l the precomputed Gram matrix of the style image there.
    /// </summary>
    /// <param name="feats">Features of the current image at each style layer, in the order of the targets.</param>
    /// <param name="style_targets">A_l: Gram matrices of the style image (from <see cref="gram_matrix"/>).</param>
    /// <param name="style_weights">w_l.</param>
    public static Tensor style_loss(IReadOnlyList<Tensor> feats, IReadOnlyList<Tensor> style_targets, IReadOnlyList<double> style_weights)
    {
        if (feats.Count != style_targets.Count || feats.Count != style_weights.Count)
            throw new ArgumentException(
                $"style_loss: {feats.Count} feature maps, {style_targets.Count} targets and {style_weights.Count} weights; they must match one to one.");
        using var scope = NewDisposeScope();
        var loss = zeros(1, dtype: feats.Count > 0 ? feats[0].dtype : ScalarType.Float32).sum();
        for (var l = 0; l < feats.Count; l++)
        {
            var gram = gram_matrix(feats[l]);
            RequireSameShape(gram, style_targets[l], $"style_loss (layer {l})");
            loss = loss.add_tensor((gram - style_targets[l]).pow_scalar(2).sum(), style_weights[l]);
        }
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <see cref="style_loss"/> with one matrix product fewer in the backward pass: the same value, and the same gradient
    /// when every target is symmetric, as Gram matrices are (a target that is not throws). With G = F Fᵀ autograd
    /// computes ∂L/∂F = (∂L/∂G) F + (∂L/∂G)ᵀ F, one product per factor. Here ∂L/∂G = 2 w (G − A) is symmetric, so both
    /// products are equal: the second factor is detached, leaving one product, and each term counts as
    /// <c>2·L − L.detach()</c>, whose value is L and whose gradient is twice the one-factor gradient. Style transfer
    /// optimises with it (7 % of a step at 192 px).
    /// </summary>
    public static Tensor style_loss_symmetric(IReadOnlyList<Tensor> feats, IReadOnlyList<Tensor> style_targets, IReadOnlyList<double> style_weights)
    {
        if (feats.Count != style_targets.Count || feats.Count != style_weights.Count)
            throw new ArgumentException(
                $"style_loss_symmetric: {feats.Count} feature maps, {style_targets.Count} targets and {style_weights.Count} weights; they must match one to one.");
        using var scope = NewDisposeScope();
        var loss = zeros(1, dtype: feats.Count > 0 ? feats[0].dtype : ScalarType.Float32).sum();
        for (var l = 0; l < feats.Count; l++)
        {
            var features = feats[l];
            if (features.dim() != 4)
                throw new ArgumentException($"style_loss_symmetric: expected features N×C×H×W, got shape [{string.Join(",", features.shape)}].");
            var (n, c, h, w) = (features.shape[0], features.shape[1], features.shape[2], features.shape[3]);
            var f = features.reshape(n, c, h * w);
            var gram = bmm(f, f.detach().transpose(1, 2)).div_scalar(h * w * c);   // gram_matrix's value; F's gradient through one factor
            RequireSameShape(gram, style_targets[l], $"style_loss_symmetric (layer {l})");
            RequireSymmetric(style_targets[l], $"style_loss_symmetric (layer {l})");
            var term = (gram - style_targets[l]).pow_scalar(2).sum();
            loss = loss.add_tensor(term.mul_scalar(2).sub(term.detach()), style_weights[l]);
        }
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Total-variation loss: <c>w_t · Σ_c [Σ (x_{i+1,j} − x_{i,j})² + Σ (x_{i,j+1} − x_{i,j})²]</c> over an image
    /// N×C×H×W; it favours smooth images.
    /// </summary>
    public static Tensor tv_loss(Tensor img, double tv_weight)
    {
        if (img.dim() != 4)
            throw new ArgumentException($"tv_loss: expected an image N×C×H×W, got shape [{string.Join(",", img.shape)}].");
        using var scope = NewDisposeScope();
        var h = img.shape[2];
        var w = img.shape[3];
        var vertical = (img[.., .., 1.., ..] - img[.., .., ..(int)(h - 1), ..]).pow_scalar(2).sum();
        var horizontal = (img[.., .., .., 1..] - img[.., .., .., ..(int)(w - 1)]).pow_scalar(2).sum();
        return vertical.add_tensor(horizontal).mul_scalar(tv_weight).MoveToOuterDisposeScope();
    }

    /// <summary>The self-check metric of the original notebook: max|x − y| / max(1e-8, |x| + |y|), elementwise.</summary>
    public static double rel_error(Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        var xd = x.to_type(ScalarType.Float64);
        var yd = y.to_type(ScalarType.Float64);
        return ((xd - yd).abs() / xd.abs().add_tensor(yd.abs()).clamp_scalar(1e-8, null)).max().item<double>();
    }

    // Targets checked symmetric, with libtorch's version counter at the time (bumped by every in-place write). A style
    // transfer passes the same targets at every step; checking them each time cost 0.3 ms of a 24 ms step.
    static readonly ConditionalWeakTable<Tensor, StrongBox<long>> CheckedSymmetric = new();

    /// <summary>Throws unless the last two dimensions of <paramref name="a"/> are a symmetric matrix up to float rounding;
    /// a tensor already checked and not written since is not checked again.</summary>
    static void RequireSymmetric(Tensor a, string where)
    {
        long version = Runtime.DerivedTensors.Available ? Runtime.DerivedTensors.Version(a) : -1;
        if (version >= 0 && CheckedSymmetric.TryGetValue(a, out var seen) && seen.Value == version) return;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        double asymmetry = (a - a.transpose(-1, -2)).abs().max().to_double(), size = a.abs().max().to_double();
        if (!(asymmetry <= 1e-5 * size))
            throw new ArgumentException($"{where}: the target is not symmetric (max |A − Aᵀ| = {asymmetry:g3} against max |A| = {size:g3}); use style_loss.");
        if (version >= 0) CheckedSymmetric.AddOrUpdate(a, new StrongBox<long>(version));
    }

    static void RequireSameShape(Tensor a, Tensor b, string where)
    {
        if (!a.shape.SequenceEqual(b.shape))
            throw new ArgumentException($"{where}: shapes differ, [{string.Join(",", a.shape)}] vs [{string.Join(",", b.shape)}].");
    }
}
