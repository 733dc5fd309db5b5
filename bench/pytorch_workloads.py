#!/usr/bin/env python3
"""PyTorch side of the TorchSharp-vs-PyTorch benchmark (run with Debian's /usr/bin/python3 and python3-torch).

The C# driver (bench/Bench) starts this script with --serve and sends one JSON command a line on stdin; each
answer is one JSON line on stdout. The workloads are written here from their definitions (saliency, Grad-CAM,
fooling images, class visualisation, style transfer); nothing is shared with the C# library but the input
tensors, which the driver writes as raw float32 files so both sides see the same pixels.

The network is tests/reference/onnx_backbone_torch.py's OnnxBackbone, an independent reading of the same ONNX
graph. Like the C# backbone, a forward pass stops after the last layer it needs.
"""
import json
import math
import os
import pathlib
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "reference"))
from onnx_backbone_torch import OnnxBackbone, find_onnx  # noqa: E402


class Backbone:
    """OnnxBackbone plus named stage outputs (found from the graph's structure), computing only as far as needed."""

    def __init__(self, net):
        self.net = net
        self.channels_last = False  # set per workload by serve() (the faster layout), as the C# backbone keeps its activations NHWC inside
        produced = {}
        for op, ins, outs, _ in net.nodes:
            produced[outs[0]] = op
        relus = [(ins, outs[0]) for op, ins, outs, _ in net.nodes if op == "Relu"]
        # block outputs: the ReLUs applied to a residual Add; stages have 2, 2, 2, 3 blocks
        blocks = [out for ins, out in relus if produced.get(ins[0]) == "Add"]
        if len(blocks) != 9:
            raise ValueError(f"expected 9 residual blocks in the graph, found {len(blocks)}")
        self.names = {"stem.relu": relus[0][1], "layer1": blocks[1], "layer2": blocks[3],
                      "layer3": blocks[5], "layer4": blocks[8], "output": net.output_name}

    def __call__(self, x, *layers):
        """Values of the named layers ('output' = pooled features), computing only as far as needed."""
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        _, taps = self.net(x, taps=[self.names[l] for l in layers], stop_early=True)
        found = {l: taps[self.names[l]] for l in layers}  # as computed: the workloads here take either layout
        out = found.get("output")
        if out is not None:
            found["output"] = out.flatten(1)
        return found


def channel_mean(a, c):
    return a[:, c].flatten(1).mean(1)


# ---- workloads (each returns a small check value so the work cannot be skipped) ----

def saliency(net, x, channel):
    """Simonyan et al.: max over colour channels of |d score / d x|, score = mean of a layer4 channel."""
    x = x.detach().requires_grad_(True)
    s = channel_mean(net(x, "layer4")["layer4"], channel)
    (g,) = torch.autograd.grad(s.sum(), x)
    return g.abs().amax(1)


def grad_cam(net, x, channel, layer="layer3"):
    """Selvaraju et al.: ReLU(sum_k mean(dS/dA_k) A_k) at `layer`, upsampled and scaled to [0, 1] per image."""
    x = x.detach().requires_grad_(True)
    t = net(x, layer, "layer4")
    a = t[layer]
    s = channel_mean(t["layer4"], channel)
    (g,) = torch.autograd.grad(s.sum(), a)
    cam = F.relu((g.mean((2, 3), keepdim=True) * a).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)
    flat = cam.flatten(1)
    lo, hi = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    return ((flat - lo) / (hi - lo).clamp_min(1e-12)).view_as(cam)


def fooling(net, x, target, lr, max_iter):
    """Szegedy et al.: x <- x + lr g/||g|| on the target score until it wins or max_iter steps."""
    x = x.detach().clone()
    it = 0
    while True:
        xi = x.detach().requires_grad_(True)
        out = net(xi, "output")["output"]
        score = out[:, target]
        predicted = int(out.argmax(1).item())
        float(score.item())  # the C# side reports progress with the score each step
        if predicted == target or it == max_iter:
            break
        (g,) = torch.autograd.grad(score.sum(), xi)
        n = g.norm()
        if float(n) == 0:
            break
        with torch.no_grad():
            x.add_(g * (lr / n))
        it += 1
    return it


def gauss_kernel(sigma, truncate=4.0):
    r = int(truncate * sigma + 0.5)
    k = torch.tensor([math.exp(-0.5 * i * i / sigma ** 2) for i in range(-r, r + 1)])
    return k / k.sum()


def blur(x, sigma):
    """Separable Gaussian blur with mirrored edges (scipy's 'reflect')."""
    k = gauss_kernel(sigma).to(x.dtype)
    r = len(k) // 2
    c = x.shape[1]
    y = torch.cat([x[..., :r].flip(3), x, x[..., -r:].flip(3)], 3)
    y = F.conv2d(y, k.view(1, 1, 1, -1).expand(c, 1, 1, len(k)), groups=c)
    y = torch.cat([y[..., :r, :].flip(2), y, y[..., -r:, :].flip(2)], 2)
    return F.conv2d(y, k.view(1, 1, -1, 1).expand(c, 1, len(k), 1), groups=c)


def class_visualisation(net, channel, iterations, lr, l2, init_scale, low, high, jitter=16, blur_every=10, sigma=0.5,
                        size=224, seed=0):
    """Simonyan et al. / Yosinski et al.: jittered gradient ascent on score - l2 ||I||^2, clamp, periodic blur."""
    g = torch.Generator().manual_seed(seed)
    img = torch.randn(1, 3, size, size, generator=g) * init_scale
    rng = random.Random(seed)
    low = torch.tensor(low).view(1, -1, 1, 1)
    high = torch.tensor(high).view(1, -1, 1, 1)
    for t in range(iterations):
        ox, oy = rng.randint(0, jitter), rng.randint(0, jitter)
        xi = img.roll((oy, ox), (2, 3)).requires_grad_(True)
        score = channel_mean(net(xi, "layer4")["layer4"], channel).sum()
        objective = score - l2 * xi.pow(2).sum()
        float(objective.item())
        (grad,) = torch.autograd.grad(objective, xi)
        with torch.no_grad():
            img = (xi.detach() + lr * grad).roll((-oy, -ox), (2, 3))
            img = torch.maximum(torch.minimum(img, high), low)
            if blur_every > 0 and t % blur_every == 0:
                img = blur(img, sigma)
    return img


def gram_bmm(f):
    n, c, h, w = f.shape
    f = f.reshape(n, c, h * w)
    return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)


def gram_conv(f):
    """The Gram matrix as a 1x1 convolution (faster than bmm in PyTorch 1.13 on some machines): with the h*w
    positions as input channels and the c channels as c pixels, out[o, c'] = sum_p F[o, p] F[c', p]."""
    n, c, h, w = f.shape
    flat = f.reshape(n, c, h * w)
    grams = [F.conv2d(fi.t().reshape(1, h * w, c, 1), fi.reshape(c, h * w, 1, 1)).reshape(c, c) for fi in flat]
    return torch.stack(grams) / (c * h * w)


gram = gram_bmm  # replaced at setup by the faster of the two on this machine (choose_gram)


def choose_gram(net, style, layers, repeats=3):
    """Times both Gram formulations, forward and backward, on the style image's features; returns the faster."""
    feats = [f.detach().requires_grad_(True) for f in net(style, *layers).values()]
    best = None
    for fn in (gram_bmm, gram_conv):
        for f in feats:  # warm-up
            fn(f).sum().backward()
        start = time.perf_counter()
        for _ in range(repeats):
            for f in feats:
                fn(f).pow(2).sum().backward()
        t = time.perf_counter() - start
        if best is None or t < best[1]:
            best = (fn, t)
    g0, g1 = gram_bmm(feats[-1]), gram_conv(feats[-1])
    if not torch.allclose(g0, g1, rtol=1e-4, atol=1e-6 * float(g0.abs().max())):
        raise AssertionError("the two Gram formulations disagree")
    return best[0]


def check_layouts(net, batch):
    """The two activation layouts a workload may run in (NCHW, channels-last; each workload takes the faster, timed on
    its first call) must compute the same features. PyTorch 1.13's oneDNN convolutions take channels-last tensors
    without reordering them, which is faster for some workloads and slower for others on these machines."""
    features = {}
    with torch.no_grad():
        for channels_last in (False, True):
            net.channels_last = channels_last
            features[channels_last] = net(batch, "layer4")["layer4"]
    net.channels_last = False
    # The features, not the input gradients: where a photo has flat (saturated) regions, max pooling sees exact ties
    # that float32 rounding breaks differently in the two layouts, so the gradients differ there (5e-4 mean relative
    # difference on the bench's photos) while both are right.
    f0, f1 = features[False], features[True]
    error = float((f0 - f1).abs().mean() / f0.abs().mean())
    if not error <= 1e-5:
        raise AssertionError(f"NCHW and channels-last passes disagree: mean relative difference of layer4 {error:.2e}")


def fold_batch_norms(net):
    """Folds every BatchNormalization that follows a Conv (whose output nothing else reads) into that Conv, as the C#
    backbone does in eval mode: weight * gamma / sqrt(var + eps), bias beta - mean * gamma / sqrt(var + eps). The
    folded node keeps the batch norm's output name, so taps by name are unchanged."""
    readers = {}
    for op, ins, outs, a in net.nodes:
        for i in ins:
            readers[i] = readers.get(i, 0) + 1
    producer = {outs[0]: k for k, (op, ins, outs, a) in enumerate(net.nodes)}
    nodes, drop = list(net.nodes), set()
    w = net.weights
    for k, (op, ins, outs, a) in enumerate(net.nodes):
        if op != "BatchNormalization" or readers.get(ins[0]) != 1 or ins[0] not in producer:
            continue
        j = producer[ins[0]]
        cop, cins, couts, ca = nodes[j]
        if cop != "Conv":
            continue
        scale = w[ins[1]] / torch.sqrt(w[ins[4]] + a["epsilon"])
        bias = w[ins[2]] - w[ins[3]] * scale
        if len(cins) > 2:
            bias = bias + w[cins[2]] * scale
        wname, bname = couts[0] + ".folded_weight", couts[0] + ".folded_bias"
        w[wname] = w[cins[1]] * scale.view(-1, 1, 1, 1)
        w[bname] = bias
        nodes[j] = ("Conv", [cins[0], wname, bname], [outs[0]], ca)
        drop.add(k)
    net.nodes = [n for k, n in enumerate(nodes) if k not in drop]
    return len(drop)


def style_transfer(net, content, style, low, high, content_layer, content_weight, style_layers, style_weights,
                   tv_weight, iterations, lr=3.0, decayed_lr=0.1, decay_at=180, clamp_until=190):
    """Gatys et al. with the original assignment's Adam schedule, from the content image."""
    with torch.no_grad():
        p = net(content, content_layer)[content_layer]
        st = net(style, *style_layers)
        targets = [gram(st[l]) for l in style_layers]
    img = content.clone().requires_grad_(True)
    opt = torch.optim.Adam([img], lr=lr)
    layers = list(dict.fromkeys(list(style_layers) + [content_layer]))
    for t in range(iterations):
        if t == decay_at:
            for group in opt.param_groups:
                group["lr"] = decayed_lr
        opt.zero_grad()
        f = net(img, *layers)
        lc = content_weight * (f[content_layer] - p).pow(2).sum()
        ls = sum(w * (gram(f[l]) - a).pow(2).sum() for l, w, a in zip(style_layers, style_weights, targets))
        lt = tv_weight * ((img[:, :, 1:] - img[:, :, :-1]).pow(2).sum() + (img[:, :, :, 1:] - img[:, :, :, :-1]).pow(2).sum())
        loss = lc + ls + lt
        loss.backward()
        opt.step()
        float(lc.item()), float(ls.item()), float(lt.item())
        if t < clamp_until:
            with torch.no_grad():
                img.copy_(torch.maximum(torch.minimum(img, high), low))
    return img.detach()


def blas_library():
    """The BLAS shared library this process loaded (Debian's libblas.so.3 alternative: OpenBLAS when installed)."""
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
    return ", ".join(sorted(os.path.realpath(l) for l in libs)) or "none loaded"


def load_raw(path, shape):
    return torch.from_numpy(np.fromfile(path, dtype="<f4").reshape(shape).copy())


def set_malloc(settings):
    """The C# side's glibc malloc thresholds (InputGradients.Runtime.MallocTuning), set here too so that the ratios
    compare the libraries, not the allocator settings. PyTorch's CPU allocator is plain malloc as well."""
    if not settings:
        return "glibc's defaults"
    import ctypes
    mallopt = ctypes.CDLL("libc.so.6").mallopt
    m_trim_threshold, m_mmap_threshold = -1, -3  # malloc.h
    ok = mallopt(m_mmap_threshold, settings["mmap_threshold"]) == 1 and mallopt(m_trim_threshold, settings["trim_threshold"]) == 1
    if not ok:
        raise RuntimeError("mallopt refused the C# side's malloc settings")
    return f"mmap threshold {settings['mmap_threshold'] >> 20} MB, trim threshold {settings['trim_threshold'] >> 20} MB (mallopt)"


def serve():
    net = None
    inputs = {}
    layouts = {}  # op -> channels-last or not: the faster on this machine, found on the op's first call
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "setup":
            torch.set_num_threads(cmd["threads"])
            malloc = set_malloc(cmd.get("malloc"))
            onnx_net = OnnxBackbone(find_onnx())
            folded = fold_batch_norms(onnx_net)  # the peer at its best: what the C# side does, done here too
            net = Backbone(onnx_net)
            for name, spec in cmd["inputs"].items():
                inputs[name] = load_raw(spec["path"], spec["shape"])
            torch.ones(8, 8) @ torch.ones(8, 8)  # loads the BLAS library, to name it below
            global gram
            gram = choose_gram(net, inputs["style"], cmd.get("style_layers", ["stem.relu", "layer1", "layer2", "layer3"]))
            check_layouts(net, inputs["batch"])
            answer = {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas_library(),
                      "gram": "1x1 convolution" if gram is gram_conv else "bmm", "folded_batch_norms": folded,
                      "malloc": malloc}
        elif op == "quit":
            break
        else:
            a = cmd["args"]
            if op not in layouts:
                # First call of a workload: run it once in each layout (not timed by the driver) and keep the faster.
                layouts[op] = min((False, True), key=lambda cl: run_workload(net, inputs, op, a, cl)[0])
            seconds, check = run_workload(net, inputs, op, a, layouts[op])
            answer = {"seconds": seconds, "check": check, "layout": "channels-last" if layouts[op] else "NCHW"}
        print(json.dumps(answer), flush=True)


def run_workload(net, inputs, op, a, channels_last):
    """Runs one workload with the given activation layout; returns (seconds, check value)."""
    net.channels_last = channels_last
    start = time.perf_counter()
    check = None
    if op == "saliency":
        check = float(saliency(net, inputs["batch"], a["channel"]).sum())
    elif op == "gradcam":
        check = float(grad_cam(net, inputs["batch"], a["channel"], a["layer"]).sum())
    elif op == "fooling":
        check = fooling(net, inputs["one"], a["target"], a["lr"], a["steps"])
    elif op == "classvis":
        check = float(class_visualisation(net, a["channel"], a["steps"], a["lr"], a["l2"], a["init_scale"],
                                          a["low"], a["high"]).abs().mean())
    elif op == "style":
        low = torch.tensor(a["low"]).view(1, -1, 1, 1)
        high = torch.tensor(a["high"]).view(1, -1, 1, 1)
        check = float(style_transfer(net, inputs["content"], inputs["style"], low, high, a["content_layer"],
                                     a["content_weight"], a["style_layers"], a["style_weights"],
                                     a["tv_weight"], a["steps"]).abs().mean())
    else:
        raise ValueError(f"unknown op {op}")
    return time.perf_counter() - start, check


if __name__ == "__main__":
    if sys.argv[1:] != ["--serve"]:
        sys.exit("usage: pytorch_workloads.py --serve   (started by bench/run; see bench/README.md)")
    serve()
