#!/usr/bin/env python3
"""An independent PyTorch reading of the ImageNet ResNet-18 backbone's ONNX graph, for reference values and
side-by-side benchmarks (Debian python3-torch and python3-onnx; run with /usr/bin/python3).

It interprets the graph node by node with torch operations (no code shared with the C# backbone), so it is
differentiable and any intermediate tensor can be read by its ONNX name.

    from onnx_backbone_torch import OnnxBackbone, find_onnx
    net = OnnxBackbone(find_onnx())
    out, taps = net(x, taps=["ReLU253_Output_0"])
"""
import os
import pathlib

import onnx
import onnx.numpy_helper
import torch
import torch.nn.functional as F

PACKAGE = "microsoft.ml.dnnimagefeaturizer.resnet18/0.23.1/tools/DnnImageModels"


def find_onnx(name="ResNet18Onnx/ResNet18.onnx"):
    """The .onnx file from the NuGet package folder (NUGET_PACKAGES or ~/.nuget/packages)."""
    root = os.environ.get("NUGET_PACKAGES") or os.path.expanduser("~/.nuget/packages")
    path = pathlib.Path(root) / PACKAGE / name
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: restore the solution first (dotnet restore)")
    return path


class OnnxBackbone(torch.nn.Module):
    """Runs the nodes of the ONNX graph in order with torch operations (only the ops this graph uses)."""

    SUPPORTED = {"Conv", "BatchNormalization", "Relu", "Add", "MaxPool", "AveragePool"}

    def __init__(self, path, dtype=torch.float32):
        super().__init__()
        model = onnx.load(str(path))
        graph = model.graph
        self.input_name = graph.input[0].name
        self.output_name = graph.output[0].name
        self.weights = {t.name: torch.tensor(onnx.numpy_helper.to_array(t), dtype=dtype) for t in graph.initializer}
        self.nodes = []
        for node in graph.node:
            if node.op_type not in self.SUPPORTED:
                raise ValueError(f"unsupported op {node.op_type}")
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            self.nodes.append((node.op_type, list(node.input), list(node.output), attrs))
        for p in self.weights.values():
            p.requires_grad_(False)

    def to_(self, dtype):
        self.weights = {k: v.to(dtype) for k, v in self.weights.items()}
        return self

    @staticmethod
    def _pad(x, pads, value=0.0):
        top, left, bottom, right = pads  # ONNX: [x1_begin, x2_begin, x1_end, x2_end]
        if top == bottom and left == right:
            return x, (top, left)
        return F.pad(x, (left, right, top, bottom), value=value), (0, 0)

    def run_node(self, op, ins, a, values):
        """One ONNX node with torch operations; `values` maps tensor names to the tensors computed so far."""
        w = self.weights
        v = values[ins[0]]
        if op == "Conv":
            v, pad = self._pad(v, a.get("pads", [0, 0, 0, 0]))
            return F.conv2d(v, w[ins[1]], w[ins[2]] if len(ins) > 2 else None,
                            stride=a["strides"], padding=pad, dilation=a.get("dilations", [1, 1]), groups=a.get("group", 1))
        if op == "BatchNormalization":
            return F.batch_norm(v, w[ins[3]], w[ins[4]], w[ins[1]], w[ins[2]], training=False, eps=a["epsilon"])
        if op == "Relu":
            return F.relu(v)
        if op == "Add":
            return v + values[ins[1]]
        if op == "MaxPool":
            v, pad = self._pad(v, a["pads"], value=float("-inf"))
            return F.max_pool2d(v, a["kernel_shape"], a["strides"], padding=pad)
        # AveragePool
        v, pad = self._pad(v, a["pads"])
        return F.avg_pool2d(v, a["kernel_shape"], a["strides"], padding=pad, count_include_pad=bool(a["count_include_pad"]))

    def forward(self, x, taps=(), stop_early=False):
        """The graph's output and the named intermediate tensors. With stop_early, the pass ends as soon as every
        tap is computed and the output is None unless it was itself asked for as a tap."""
        values = {self.input_name: x}
        wanted = set(taps)
        for op, ins, outs, a in self.nodes:
            values[outs[0]] = self.run_node(op, ins, a, values)
            if stop_early and wanted and wanted.issubset(values):
                break
        return values.get(self.output_name), {name: values[name] for name in taps}

if __name__ == "__main__":
    net = OnnxBackbone(find_onnx())
    torch.manual_seed(0)
    x = torch.randn(1, 3, 224, 224) * 50
    out, _ = net(x)
    print("pooled features", tuple(out.shape), float(out.mean()), float(out.std()))
