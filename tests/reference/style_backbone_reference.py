#!/usr/bin/env python3
"""Reference values for the style-transfer self-checks on the real backbone and real images (Q6.B1-B4).

Run with /usr/bin/python3 from the repository root (needs Debian python3-torch, python3-onnx, python3-pil and
the restored NuGet package of the ResNet-18 backbone):
    /usr/bin/python3 tests/reference/style_backbone_reference.py

It reads the content photo (data/images/leuvenA.jpg, an old-town street) and The Starry Night
(data/styles/starry_night.jpg, its frame cropped), resizes each so its shorter side is 192 pixels (the longer
side to the nearest multiple of 32), and writes to
tests/reference/fixtures/style/:
  content_192.u8, style_192.u8   the resized images, RGB 0-255 bytes, H x W x 3 (the exact inputs of both sides)
  gram_layer2.f32                 Gram matrix of the style image at `layer2` (float32 little-endian, 1 x C x C)
  backbone.json                   shapes, the channel means used for preprocessing, the settings and the losses
The network is onnx_backbone_torch.OnnxBackbone, a node-by-node PyTorch reading of the ONNX graph that shares no
code with the C# backbone; it runs in float64 here so the reference is more accurate than either float32 side.
Loss definitions (style_losses_torch.py) are written from the original assignment, independently of the C# code.
"""
import json
import pathlib
import sys

import numpy as np
import onnx
import onnx.numpy_helper
import torch
from PIL import Image

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
from onnx_backbone_torch import OnnxBackbone, find_onnx  # noqa: E402
from style_losses_torch import content_loss, gram, style_loss, tv_loss  # noqa: E402

OUT = HERE / "fixtures" / "style"
SIZE = 192
dt = torch.float64

# C# tap names of InputGradients.Models.ImageNet.ResNet18Backbone -> tensor names of the ONNX graph.
TAPS = {
    "stem.relu": "ReLU253_Output_0",   # ReLU after the 7x7 stem convolution (before max pooling)
    "layer1": "ReLU283_Output_0",      # output of stage 1 (2 blocks)
    "layer2": "ReLU315_Output_0",      # output of stage 2
    "layer3": "ReLU347_Output_0",      # output of stage 3
    "layer4": "ReLU393_Output_0",      # output of stage 4 (3 blocks)
}
# Frames cropped away (left, top, right, bottom) in the original pixels; the C# notebook crops the same boxes.
CROPS = {"data/styles/starry_night.jpg": (18, 18, 734, 582)}


def load(rel):
    img = Image.open(ROOT / rel).convert("RGB")
    if rel in CROPS:
        img = img.crop(CROPS[rel])
    # Shorter side 192; the longer side rounded to a multiple of 32 so every stage of the graph sees even sizes
    # (the ONNX graph's asymmetric pads cannot add its shortcuts at odd sizes).
    w, h = img.size
    long_side = 32 * round(SIZE * max(w, h) / min(w, h) / 32)
    size = (SIZE, long_side) if w <= h else (long_side, SIZE)
    img = img.resize(size, Image.BILINEAR)  # PIL's bilinear resize is antialiased when shrinking
    return np.asarray(img, dtype=np.uint8).copy()  # H x W x 3


def channel_means_bgr():
    """Per-channel averages of the preprocessing graph's mean image (its Sub input), in B, G, R order."""
    prep = onnx.load(str(find_onnx("ResNetPrepOnnx/ResNetPreprocess.onnx")))
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in prep.graph.initializer}
    subs = [n for n in prep.graph.node if n.op_type == "Sub"]
    if len(subs) != 1:
        raise ValueError(f"expected one Sub node in the preprocessing graph, found {len(subs)}")
    mean = next(inits[i] for i in subs[0].input if i in inits)
    mean = mean.reshape(3, -1).astype(np.float64).mean(axis=1)
    return [float(np.float32(m)) for m in mean]


def preprocess(rgb_hwc, mean_bgr):
    x = torch.tensor(rgb_hwc, dtype=torch.float32).permute(2, 0, 1).unsqueeze(0)  # 1 x 3 x H x W, RGB 0-255
    x = x[:, [2, 1, 0]]  # BGR
    return x - torch.tensor(mean_bgr, dtype=torch.float32).view(1, 3, 1, 1)


def main():
    content_rgb = load("data/images/leuvenA.jpg")
    style_rgb = load("data/styles/starry_night.jpg")
    means = channel_means_bgr()
    content = preprocess(content_rgb, means).to(dt)
    style = preprocess(style_rgb, means).to(dt)

    net = OnnxBackbone(find_onnx(), dtype=dt)
    # The graph ends in a fixed 7x7 average pool (made for 224 px) that fails at 192 px; the taps are all before it.
    net.nodes = [node for node in net.nodes if node[0] != "AveragePool"]
    net.output_name = TAPS["layer4"]
    names = list(TAPS)
    with torch.no_grad():
        _, c_taps = net(content, taps=[TAPS[n] for n in names])
        _, s_taps = net(style, taps=[TAPS[n] for n in names])
        _, z_taps = net(torch.zeros_like(content), taps=[TAPS["layer2"]])
    c_feats = {n: c_taps[TAPS[n]] for n in names}
    s_feats = {n: s_taps[TAPS[n]] for n in names}

    # The original's checks, on this network: content loss between the content image and an all-zero input (the
    # mean colour here) at the content layer; the Gram matrix of the style image at one layer; the style loss of
    # the content image against the style image's Gram matrices; the TV loss of the content image.
    content_layer, content_weight = "layer2", 6e-2
    style_layers, style_weights = ["stem.relu", "layer1", "layer2", "layer3"], [300000.0, 1000.0, 15.0, 3.0]
    gram_layer, tv_weight = "layer2", 2e-2
    c_loss = content_loss(content_weight, c_feats[content_layer], z_taps[TAPS["layer2"]])
    g = gram(s_feats[gram_layer])
    s_loss = style_loss([c_feats[l] for l in style_layers], [gram(s_feats[l]) for l in style_layers], style_weights)
    t_loss = tv_loss(content, tv_weight)

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "content_192.u8").write_bytes(content_rgb.tobytes())
    (OUT / "style_192.u8").write_bytes(style_rgb.tobytes())
    (OUT / "gram_layer2.f32").write_bytes(g.to(torch.float32).numpy().astype("<f4").tobytes())
    out = {
        "content_image": "data/images/leuvenA.jpg", "style_image": "data/styles/starry_night.jpg",
        "style_crop_ltrb": CROPS["data/styles/starry_night.jpg"],
        "content_shape_hwc": list(content_rgb.shape), "style_shape_hwc": list(style_rgb.shape),
        "mean_bgr": means,
        "taps": TAPS,
        "content_layer": content_layer, "content_weight": content_weight,
        "style_layers": style_layers, "style_weights": style_weights,
        "gram_layer": gram_layer, "gram_shape": list(g.shape),
        "tv_weight": tv_weight,
        "content_loss": c_loss.item(), "style_loss": s_loss.item(), "tv_loss": t_loss.item(),
        "feature_shapes": {n: list(c_feats[n].shape) for n in names},
        "torch_version": torch.__version__,
    }
    (OUT / "backbone.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"content {content_rgb.shape}, style {style_rgb.shape}, means {means}")
    print(f"content loss {out['content_loss']:.6f}, style loss {out['style_loss']:.6f}, tv loss {out['tv_loss']:.6f}, "
          f"gram {tuple(g.shape)} mean {g.mean().item():.6f}")


if __name__ == "__main__":
    main()
