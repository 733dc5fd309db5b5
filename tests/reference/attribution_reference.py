#!/usr/bin/python3
"""Reference values for the attribution tests (tests/InputGradients.Tests/Attribution/).

Builds a small seeded CNN (conv/ReLU/max-pool/residual block/linear), saves its weights as raw little-endian
float32 arrays with a JSON index (no pickle, nothing executable), a fixed input, and computes with plain PyTorch
autograd (no Captum): saliency, Integrated Gradients (trapezoid and Gauss-Legendre), guided backprop,
Grad-CAM and layer conductance. Everything is computed in float64 from the float32 weights.

Run with Debian's PyTorch:  /usr/bin/python3 tests/reference/attribution_reference.py
Writes tests/reference/fixtures/attribution/{refnet.weights.bin, refnet.weights.json, reference.json}.
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "attribution")


class GuidedReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g.clamp(min=0) * (x > 0).to(g.dtype)


def act(x, guided):
    return GuidedReLU.apply(x) if guided else F.relu(x)


class Block(nn.Module):
    """x + relu(conv(x))"""
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)


class RefNet(nn.Module):
    """conv1 3->4 (3x3, pad 1) - relu1 - pool (2x2) - conv2 4->6 - relu2 - block (residual) - flatten - fc 96->5.
    Layer names match the C# test model; forward here is written out so that guided ReLUs and captured
    activations are explicit."""
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1)
        self.block = Block(6)
        self.fc = nn.Linear(6 * 4 * 4, 5)

    def run(self, x, guided=False, taps=None):
        h = act(self.conv1(x), guided)
        h = F.max_pool2d(h, 2)
        h = self.conv2(h)
        if taps is not None: taps["conv2"] = h
        h = act(h, guided)
        h = h + act(self.block.conv(h), guided)
        if taps is not None: taps["block"] = h
        return self.fc(h.flatten(1))


def grad_of(model, x, y, guided=False):
    x = x.clone().requires_grad_(True)
    out = model.run(x, guided)
    s = out[torch.arange(x.shape[0]), y].sum()
    (g,) = torch.autograd.grad(s, x)
    return g


def scores(model, x, y):
    with torch.no_grad():
        return model.run(x)[torch.arange(x.shape[0]), y]


def integrated_gradients(model, x, y, alphas, weights):
    total = torch.zeros_like(x)
    for a, w in zip(alphas, weights):
        total += w * grad_of(model, a * x, y)  # zero baseline
    return total * x


def layer_grad(model, x, y, layer):
    x = x.clone().requires_grad_(True)
    taps = {}
    out = model.run(x, taps=taps)
    s = out[torch.arange(x.shape[0]), y].sum()
    (g,) = torch.autograd.grad(s, taps[layer])
    return taps[layer].detach(), g


def grad_cam(model, x, y, layer):
    a, g = layer_grad(model, x, y, layer)
    w = g.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((w * a).sum(1, keepdim=True))
    small = cam.clone()
    big = F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)
    flat = big.flatten(1)
    mn, mx = flat.min(1, keepdim=True)[0], flat.max(1, keepdim=True)[0]
    norm = ((flat - mn) / (mx - mn).clamp(min=1e-12)).view_as(big)
    return small, norm


def grad_cam_plus_plus(model, x, y, layer):
    # Chattopadhyay et al. 2018, eq. 19 with exp(score) (as pytorch-grad-cam), without its epsilon.
    a, g = layer_grad(model, x, y, layer)
    g2, g3 = g ** 2, g ** 3
    denom = 2 * g2 + a.sum(dim=(2, 3), keepdim=True) * g3
    alpha = torch.where(denom != 0, g2 / torch.where(denom != 0, denom, torch.ones_like(denom)), torch.zeros_like(denom))
    w = (alpha * F.relu(g)).sum(dim=(2, 3), keepdim=True)
    return F.relu((w * a).sum(1, keepdim=True))


def conductance(model, x, y, layer, steps):
    alphas = np.linspace(0, 1, steps + 1)
    ys, gs = [], []
    for a in alphas:
        act_, g = layer_grad(model, float(a) * x, y, layer)
        ys.append(act_); gs.append(g)
    return sum((ys[k + 1] - ys[k]) * gs[k] for k in range(steps))


def main():
    torch.manual_seed(20240611)
    model = RefNet()
    os.makedirs(OUT, exist_ok=True)
    index, blobs, offset = {}, [], 0
    for name, p in model.state_dict().items():
        a = p.detach().cpu().numpy().astype("<f4")
        index[name] = {"shape": list(a.shape), "offset": offset, "dtype": "float32"}
        blobs.append(a.tobytes()); offset += a.nbytes
    with open(os.path.join(OUT, "refnet.weights.bin"), "wb") as f:
        f.write(b"".join(blobs))
    with open(os.path.join(OUT, "refnet.weights.json"), "w") as f:
        json.dump({"format": "raw little-endian arrays, offsets in bytes", "tensors": index}, f, indent=1)

    model = model.double().eval()
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(7)).double()
    y = torch.tensor([1, 3])

    g = grad_of(model, x, y)
    ref = {
        "input": x.flatten().tolist(), "input_shape": list(x.shape), "target": y.tolist(),
        "logits": model.run(x).detach().flatten().tolist(),
        "gradient": g.flatten().tolist(),
        "saliency_map": g.abs().amax(1).flatten().tolist(),
    }
    n = 16
    alphas = np.linspace(0, 1, n); w = np.full(n, 1.0 / (n - 1)); w[0] /= 2; w[-1] /= 2
    ig_t = integrated_gradients(model, x, y, alphas, w)
    xs, ws = np.polynomial.legendre.leggauss(10)
    ig_gl = integrated_gradients(model, x, y, 0.5 * (xs + 1), 0.5 * ws)
    ref["ig_trapezoid_16"] = ig_t.flatten().tolist()
    ref["ig_gausslegendre_10"] = ig_gl.flatten().tolist()
    ref["score_difference"] = (scores(model, x, y) - scores(model, torch.zeros_like(x), y)).tolist()
    ref["guided_backprop"] = grad_of(model, x, y, guided=True).flatten().tolist()
    for layer in ("conv2", "block"):
        small, big = grad_cam(model, x, y, layer)
        ref[f"gradcam_{layer}_small"] = small.flatten().tolist()
        ref[f"gradcam_{layer}_shape"] = list(small.shape)
        ref[f"gradcam_{layer}_upsampled"] = big.flatten().tolist()
    ref["gradcampp_block_small"] = grad_cam_plus_plus(model, x, y, "block").flatten().tolist()
    ref["conductance_conv2_20"] = conductance(model, x, y, "conv2", 20).flatten().tolist()
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(ref, f)
    print("wrote", OUT, "torch", torch.__version__)


if __name__ == "__main__":
    main()
