#!/usr/bin/python3
"""Reference checkpoints for the TorchSharp ports of torchvision's SqueezeNet 1.1 and ResNet-18.

Run with Debian's PyTorch (python3-torch 1.13, python3-torchvision 0.14):

    /usr/bin/python3 tests/reference/make_torchvision_checkpoints.py                 # SqueezeNet 1.1 + small files (committed)
    /usr/bin/python3 tests/reference/make_torchvision_checkpoints.py --resnet18 --out DIR   # ResNet-18 (47 MB, made at test time)

For each model it writes, with seeded random weights (no pretrained weights are involved):
  <model>.pth            torch.save(model.state_dict()) in the default zip format
  <model>.safetensors    the same tensors, written here with struct + json (the safetensors package is not needed)
  <model>_input.f32      a seeded 224x224 input, raw little-endian float32, shape in manifest
  <model>_logits.f32     model(input) in eval mode, raw little-endian float32
  <model>_odd_input.f32, <model>_odd_logits.f32   the same at an odd size (230 or 229)
  <model>.json           manifest: shapes, seeds, versions
It also writes resnet18_keys.json (ResNet-18's state-dict names and shapes) and views.pth / views_legacy.pth /
views.json: tensors sharing storage with offsets and strides, in several dtypes, to test the reader on more than
contiguous float32. views_legacy.pth differs from run to run (the legacy format names storages by memory
address); its contents do not.
"""
import argparse
import json
import os
import struct
import sys

import torch
import torchvision

SAFETENSORS_DTYPES = {
    torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL",
}


def write_safetensors(path, tensors, metadata=None):
    """Writes the safetensors layout from its published description: u64 LE header size, JSON header, raw data."""
    header = {}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        raw = t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": SAFETENSORS_DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)  # pad so the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


def randomize_batchnorm_stats(model, generator):
    # Default running stats (0 and 1) would hide a reader that drops them: make them random.
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=generator) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=generator) * 0.5 + 0.75)
                m.weight.copy_(torch.rand(m.weight.shape, generator=generator) * 0.5 + 0.75)
                m.bias.copy_(torch.randn(m.bias.shape, generator=generator) * 0.1)
                m.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=generator)))


def make_model(name, out):
    torch.manual_seed(20261127)
    g = torch.Generator().manual_seed(1234)
    # A 224x224 batch, and one odd size where ceil_mode pooling and padding choices change the output size.
    if name == "squeezenet1_1":
        model = torchvision.models.squeezenet1_1(weights=None)
        shapes = {"": (1, 3, 224, 224), "_odd": (1, 3, 230, 230)}
    elif name == "resnet18":
        model = torchvision.models.resnet18(weights=None)
        randomize_batchnorm_stats(model, g)
        shapes = {"": (2, 3, 224, 224), "_odd": (1, 3, 229, 229)}
    else:
        raise SystemExit(f"unknown model {name}")
    model.eval()
    sd = model.state_dict()
    torch.save(sd, os.path.join(out, f"{name}.pth"))
    write_safetensors(os.path.join(out, f"{name}.safetensors"), sd, {"format": "pt"})
    manifest = {
        "model": name, "torch": torch.__version__, "torchvision": torchvision.__version__,
        "weights_seed": 20261127, "input_seed": 1234,
        "keys": {k: list(v.shape) for k, v in sd.items()},
    }
    for suffix, shape in shapes.items():
        x = torch.randn(shape, generator=g)
        with torch.no_grad():
            logits = model(x)
        x.numpy().astype("<f4").tofile(os.path.join(out, f"{name}{suffix}_input.f32"))
        logits.numpy().astype("<f4").tofile(os.path.join(out, f"{name}{suffix}_logits.f32"))
        manifest[f"{suffix[1:]}{'_' if suffix else ''}input_shape"] = list(shape)
        manifest[f"{suffix[1:]}{'_' if suffix else ''}logits_shape"] = list(logits.shape)
        print(f"{name}{suffix}: {len(sd)} tensors, input {shape}, |logits| max {float(logits.abs().max()):.4g}, "
              f"nonzero {int((logits != 0).sum())} of {logits.numel()}", file=sys.stderr)
    with open(os.path.join(out, f"{name}.json"), "w") as f:
        json.dump(manifest, f, indent=1)


def make_views(out):
    g = torch.Generator().manual_seed(7)
    base = torch.randn(4, 6, generator=g)
    d = torch.randn(3, 2, generator=g, dtype=torch.float64)
    tensors = {
        "base": base,
        "slice": base[1:3, ::2],          # offset 6, strides (6, 2), same storage as base
        "transposed": base.t(),           # strides (1, 6)
        "row": base[2],                   # offset 12
        "scalar": base[3, 5],             # 0-dim view, offset 23
        "half": torch.randn(5, generator=g).half(),
        "bfloat16": torch.randn(2, 3, generator=g).bfloat16(),
        "double_t": d.t(),
        "long": torch.arange(-3, 9, dtype=torch.int64).reshape(3, 4)[:, 1:],
        "int32": torch.tensor([1, -2, 2**31 - 1], dtype=torch.int32),
        "uint8": torch.tensor([0, 7, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "num_batches_tracked": torch.tensor(123456789012, dtype=torch.int64),
        "empty": torch.zeros(0, 3),
    }
    torch.save(tensors, os.path.join(out, "views.pth"))
    torch.save(tensors, os.path.join(out, "views_legacy.pth"), _use_new_zipfile_serialization=False)
    expected = {k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape),
                    "values": v.float().flatten().tolist() if v.dtype != torch.int64 else v.flatten().tolist()}
                for k, v in tensors.items()}
    with open(os.path.join(out, "views.json"), "w") as f:
        json.dump(expected, f, indent=1)


def main():
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "torchvision")
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=here)
    p.add_argument("--resnet18", action="store_true", help="make only the ResNet-18 files (47 MB, not committed)")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    if a.resnet18:
        make_model("resnet18", a.out)
    else:
        make_model("squeezenet1_1", a.out)
        make_views(a.out)
        # ResNet-18's names and shapes only (its weights are made at test time: 47 MB is too big to commit).
        keys = {k: list(v.shape) for k, v in torchvision.models.resnet18(weights=None).state_dict().items()}
        with open(os.path.join(a.out, "resnet18_keys.json"), "w") as f:
            json.dump(keys, f, indent=1)


if __name__ == "__main__":
    main()
