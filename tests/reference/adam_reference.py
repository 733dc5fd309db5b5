#!/usr/bin/env python3
"""Reference trajectories of torch.optim.Adam (Debian python3-torch, PyTorch 1.13), for Synthesis/Adam.

Run with /usr/bin/python3 from the repository root:
    /usr/bin/python3 tests/reference/adam_reference.py
It rewrites tests/reference/fixtures/optim/adam.json: the start point, the objective's coefficients and, for each run,
the parameters after every step. The objective is f(p) = sum(w * (p - c)^2) + sum(sin(3 p)), in float64; a run
minimises it (or maximises -f with maximize=True) and drops the learning rate at one step, as style transfer does.
"""
import json
import pathlib

import torch

torch.manual_seed(2015)
dt = torch.float64
start = torch.randn(2, 3, dtype=dt)
w = torch.rand(2, 3, dtype=dt) + 0.5
c = torch.randn(2, 3, dtype=dt)


def f(p):
    return (w * (p - c) ** 2).sum() + torch.sin(3 * p).sum()


def run(lr, decayed_lr, decay_at, steps, maximize, betas=(0.9, 0.999), eps=1e-8):
    p = start.clone().requires_grad_(True)
    opt = torch.optim.Adam([p], lr=lr, betas=betas, eps=eps, maximize=maximize)
    path = []
    for t in range(steps):
        if t == decay_at:
            for g in opt.param_groups:
                g["lr"] = decayed_lr
        opt.zero_grad()
        loss = -f(p) if maximize else f(p)
        loss.backward()
        opt.step()
        path.append(p.detach().flatten().tolist())
    return {"lr": lr, "decayed_lr": decayed_lr, "decay_at": decay_at, "maximize": maximize,
            "beta1": betas[0], "beta2": betas[1], "eps": eps, "path": path}


out = {
    "torch": torch.__version__,
    "shape": list(start.shape),
    "start": start.flatten().tolist(),
    "w": w.flatten().tolist(),
    "c": c.flatten().tolist(),
    "runs": [run(0.1, 0.01, 12, 20, False), run(0.05, 0.05, -1, 15, True, betas=(0.8, 0.99), eps=1e-6)],
}
path = pathlib.Path(__file__).parent / "fixtures" / "optim" / "adam.json"
path.write_text(json.dumps(out, indent=1) + "\n")
print(f"wrote {path}")
