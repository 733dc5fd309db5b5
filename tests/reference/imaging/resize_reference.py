"""Reference values for InputGradients.Imaging.Transforms from torchvision itself.

Run with Debian's Python (which has torch and torchvision):
    /usr/bin/python3 tests/reference/imaging/resize_reference.py
Writes resize_reference.json beside this script. The input image is defined by a formula so the C# test
can rebuild it exactly: pixel (c, y, x) = (7*x + 13*y + 50*c) % 256, shape (3, 37, 53), uint8.
"""
import json
import os

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms as T
from torchvision.transforms import functional as F

H, W = 37, 53
c, y, x = np.meshgrid(np.arange(3), np.arange(H), np.arange(W), indexing="ij")
chw = ((7 * x + 13 * y + 50 * c) % 256).astype(np.uint8)
pil = Image.fromarray(np.ascontiguousarray(chw.transpose(1, 2, 0)), mode="RGB")

cases = {}
# PIL path: torchvision's default for PIL images (bilinear, PIL's antialiased resampling, 8-bit output).
for name, size in [("pil_resize_16", 16), ("pil_resize_24", 24), ("pil_resize_48", 48)]:
    out = T.Resize(size)(pil)
    arr = np.asarray(out).transpose(2, 0, 1)
    cases[name] = {"size": size, "shape": list(arr.shape), "values": arr.flatten().tolist()}
out = T.CenterCrop(12)(T.Resize(16)(pil))
arr = np.asarray(out).transpose(2, 0, 1)
cases["pil_resize_16_crop_12"] = {"size": 16, "crop": 12, "shape": list(arr.shape), "values": arr.flatten().tolist()}

# Tensor path with antialias=True on float values 0-255 (no 8-bit rounding).
t = torch.from_numpy(chw.astype(np.float32))
for name, size in [("tensor_aa_resize_16", 16), ("tensor_aa_resize_48", 48)]:
    out = F.resize(t, size, interpolation=T.InterpolationMode.BILINEAR, antialias=True)
    cases[name] = {"size": size, "shape": list(out.shape), "values": [round(float(v), 5) for v in out.flatten()]}

cases["_versions"] = {"torch": torch.__version__, "torchvision": torchvision.__version__}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "resize_reference.json"), "w") as f:
    json.dump(cases, f)
print({k: v.get("shape") for k, v in cases.items() if k[0] != "_"})
