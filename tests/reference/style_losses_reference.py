#!/usr/bin/env python3
"""Reference values for the style-transfer losses, computed with PyTorch (Debian python3-torch).

Run with /usr/bin/python3 from the repository root:
    /usr/bin/python3 tests/reference/style_losses_reference.py
It rewrites tests/reference/fixtures/style/losses.json: seeded float64 inputs and the losses of the original
assignment (content, Gram, style and total-variation losses, from style_losses_torch.py, written independently of the C# code).
"""
import json
import pathlib

import torch

from style_losses_torch import content_loss, gram, style_loss, tv_loss

torch.manual_seed(7643)
dt = torch.float64


content_current = torch.randn(1, 6, 5, 7, dtype=dt)
content_original = torch.randn(1, 6, 5, 7, dtype=dt)
shapes = [(1, 4, 9, 8), (1, 6, 5, 7), (1, 8, 3, 4)]
style_feats = [torch.randn(*s, dtype=dt) for s in shapes]
style_sources = [torch.randn(*s, dtype=dt) for s in shapes]
style_targets = [gram(s) for s in style_sources]
style_weights = [200000.0, 800.0, 12.0]
image = torch.rand(1, 3, 11, 13, dtype=dt) * 255.0

out = {
    "content_weight": 6e-2,
    "content_current": content_current.flatten().tolist(), "content_shape": list(content_current.shape),
    "content_original": content_original.flatten().tolist(),
    "content_loss": content_loss(6e-2, content_current, content_original).item(),
    "gram_input": style_feats[0].flatten().tolist(), "gram_input_shape": list(shapes[0]),
    "gram_normalized": gram(style_feats[0]).flatten().tolist(),
    "gram_unnormalized": gram(style_feats[0], normalize=False).flatten().tolist(),
    "style_shapes": [list(s) for s in shapes],
    "style_feats": [f.flatten().tolist() for f in style_feats],
    "style_sources": [f.flatten().tolist() for f in style_sources],
    "style_weights": style_weights,
    "style_loss": style_loss(style_feats, style_targets, style_weights).item(),
    "tv_weight": 2e-2,
    "tv_image": image.flatten().tolist(), "tv_shape": list(image.shape),
    "tv_loss": tv_loss(image, 2e-2).item(),
    "torch_version": torch.__version__,
}
path = pathlib.Path(__file__).parent / "fixtures" / "style" / "losses.json"
path.write_text(json.dumps(out, indent=None) + "\n")
print(f"wrote {path}: content {out['content_loss']:.6f}, style {out['style_loss']:.6f}, tv {out['tv_loss']:.6f}")
