"""The style-transfer losses of the original assignment, written in PyTorch independently of the C# code.
Shared by the reference scripts (style_losses_reference.py, style_backbone_reference.py)."""
import torch


def content_loss(w, current, original):
    return w * ((current - original) ** 2).sum()


def gram(features, normalize=True):
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w)
    g = torch.einsum("nik,njk->nij", f, f)  # F F^T, written differently from the C# bmm on purpose
    return g / (h * w * c) if normalize else g


def style_loss(feats, targets, weights):
    return sum(w * ((gram(f) - a) ** 2).sum() for f, a, w in zip(feats, targets, weights))


def tv_loss(img, w):
    dh = img[:, :, 1:, :] - img[:, :, :-1, :]
    dw = img[:, :, :, 1:] - img[:, :, :, :-1]
    return w * ((dh ** 2).sum() + (dw ** 2).sum())
