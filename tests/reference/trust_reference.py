#!/usr/bin/python3
"""Reference values for the trust tests (tests/InputGradients.Tests/Metrics/): more CAM variants, occlusion,
faithfulness metrics and map similarity, written from the papers with plain PyTorch and numpy (no Captum,
pytorch-grad-cam, Quantus or scikit-image; none is installed here).

Uses the seeded RefNet of attribution_reference.py (its weights and input from fixtures/attribution/), in float64.
Run with Debian's PyTorch:  /usr/bin/python3 tests/reference/trust_reference.py
Writes tests/reference/fixtures/trust/reference.json.
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ATTR = os.path.join(HERE, "fixtures", "attribution")
OUT = os.path.join(HERE, "fixtures", "trust")


def load_weights():
    index = json.load(open(os.path.join(ATTR, "refnet.weights.json")))["tensors"]
    raw = open(os.path.join(ATTR, "refnet.weights.bin"), "rb").read()
    w = {}
    for name, e in index.items():
        count = int(np.prod(e["shape"]))
        a = np.frombuffer(raw, dtype="<f4", count=count, offset=e["offset"]).reshape(e["shape"])
        w[name] = torch.tensor(a.astype(np.float64))
    return w


W = load_weights()


def run(x, taps=None):
    """RefNet's forward written out: conv1-relu-maxpool-conv2-relu-(h + relu(conv(h)))-fc."""
    h = F.relu(F.conv2d(x, W["conv1.weight"], W["conv1.bias"], padding=1))
    h = F.max_pool2d(h, 2)
    h = F.conv2d(h, W["conv2.weight"], W["conv2.bias"], padding=1)
    if taps is not None: taps["conv2"] = h
    h = F.relu(h)
    h = h + F.relu(F.conv2d(h, W["block.conv.weight"], W["block.conv.bias"], padding=1))
    if taps is not None: taps["block"] = h
    return F.linear(h.flatten(1), W["fc.weight"], W["fc.bias"])


def layer_grad(x, y, layer):
    x = x.clone().requires_grad_(True)
    taps = {}
    out = run(x, taps)
    s = out[torch.arange(x.shape[0]), y].sum()
    (g,) = torch.autograd.grad(s, taps[layer])
    return taps[layer].detach(), g


def layer_cam(x, y, layer):
    # Jiang et al. 2021, eq. 4-5: positive gradients weight each position.
    a, g = layer_grad(x, y, layer)
    return F.relu((F.relu(g) * a).sum(1, keepdim=True))


def hires_cam(x, y, layer):
    # Draelos and Carin 2020: the gradient times the activation, element by element, summed over channels.
    a, g = layer_grad(x, y, layer)
    return F.relu((g * a).sum(1, keepdim=True))


def upsample_align_corners(a, size):
    """Bilinear with align_corners=True, by hand: output pixel i samples input position i*(in-1)/(out-1)."""
    n, k, h, w = a.shape
    H, W_ = size
    out = torch.zeros(n, k, H, W_, dtype=a.dtype)
    for i in range(H):
        fy = i * (h - 1) / (H - 1)
        y0 = int(np.floor(fy)); y1 = min(y0 + 1, h - 1); ty = fy - y0
        for j in range(W_):
            fx = j * (w - 1) / (W_ - 1)
            x0 = int(np.floor(fx)); x1 = min(x0 + 1, w - 1); tx = fx - x0
            out[:, :, i, j] = ((1 - ty) * (1 - tx) * a[:, :, y0, x0] + (1 - ty) * tx * a[:, :, y0, x1]
                               + ty * (1 - tx) * a[:, :, y1, x0] + ty * tx * a[:, :, y1, x1])
    return out


def score_cam(x, y, layer):
    # Wang et al. 2020 with pytorch-grad-cam's weights: softmax over channels of the target logit of
    # the input times each min-max scaled, upsampled channel.
    taps = {}
    with torch.no_grad():
        run(x, taps)
    a = taps[layer]
    up = upsample_align_corners(a, x.shape[2:])
    n, k = a.shape[:2]
    weights = torch.zeros(n, k, dtype=x.dtype)
    for i in range(n):
        for c in range(k):
            m = up[i, c]
            m = (m - m.min()) / (m.max() - m.min() + 1e-8)
            with torch.no_grad():
                weights[i, c] = run((x[i] * m).unsqueeze(0))[0, y[i]]
    weights = torch.softmax(weights, dim=1)
    return F.relu((weights[:, :, None, None] * a).sum(1, keepdim=True))


def occlusion(x, y, wh, ww, sh, sw, baseline):
    n, c, H, W_ = x.shape
    total = torch.zeros(n, 1, H, W_, dtype=x.dtype)
    count = torch.zeros(1, 1, H, W_, dtype=x.dtype)
    with torch.no_grad():
        full = run(x)[torch.arange(n), y]
        for top in range(0, H - wh + 1, sh):
            for left in range(0, W_ - ww + 1, sw):
                xo = x.clone()
                xo[:, :, top:top + wh, left:left + ww] = baseline
                d = full - run(xo)[torch.arange(n), y]
                total[:, :, top:top + wh, left:left + ww] += d[:, None, None, None]
                count[:, :, top:top + wh, left:left + ww] += 1
    return (total / count.clamp(min=1)).expand(n, c, H, W_)


def probability(x, i, y):
    with torch.no_grad():
        return torch.softmax(run(x), dim=1)[:, y].tolist()


def ranking(m):
    # Most important first; equal values keep pixel order.
    return np.argsort(-np.asarray(m), kind="stable")


def auc(s):
    s = np.asarray(s)
    return float((s.sum() - s[0] / 2 - s[-1] / 2) / (len(s) - 1))


def blur(x, size, sigma):
    r = size // 2
    d = np.arange(-r, r + 1)
    k = np.exp(-(d[:, None] ** 2 + d[None, :] ** 2) / (2 * sigma ** 2))
    k = k / k.sum()
    n, c, H, W_ = x.shape
    xp = np.zeros((n, c, H + 2 * r, W_ + 2 * r)); xp[:, :, r:r + H, r:r + W_] = x.numpy()
    out = np.zeros((n, c, H, W_))
    for i in range(H):
        for j in range(W_):
            out[:, :, i, j] = (xp[:, :, i:i + size, j:j + size] * k).sum(axis=(2, 3))
    return torch.tensor(out)


def deletion_insertion(x, y, maps, per_step, insert, substrate):
    n, c, H, W_ = x.shape
    steps = int(np.ceil(H * W_ / per_step))
    curves = []
    for i in range(n):
        order = ranking(maps[i].flatten())
        cur = []
        for k in range(steps + 1):
            m = np.zeros(H * W_, dtype=bool); m[order[:min(H * W_, k * per_step)]] = True
            m = torch.tensor(m.reshape(H, W_))
            img = torch.where(m, x[i], substrate[i]) if insert else torch.where(m, substrate[i], x[i])
            cur.append(probability(img.unsqueeze(0), i, y[i])[0])
        curves.append(cur)
    return curves


NEIGHBOURS = [((-1, -1), 1 / 12), ((-1, 0), 1 / 6), ((-1, 1), 1 / 12), ((0, -1), 1 / 6),
              ((0, 1), 1 / 6), ((1, -1), 1 / 12), ((1, 0), 1 / 6), ((1, 1), 1 / 12)]


def linear_impute(img, removed):
    """Rong et al. 2022: each removed pixel = weighted mean of its in-image neighbours (1/6 direct, 1/12 diagonal);
    dense solve, no noise."""
    c, H, W_ = img.shape
    unk = [p for p in range(H * W_) if removed[p]]
    idx = {p: u for u, p in enumerate(unk)}
    A = np.zeros((len(unk), len(unk))); b = np.zeros((len(unk), c))
    flat = img.reshape(c, -1).numpy()
    for u, p in enumerate(unk):
        y0, x0 = divmod(p, W_)
        for (dy, dx), w in NEIGHBOURS:
            yy, xx = y0 + dy, x0 + dx
            if not (0 <= yy < H and 0 <= xx < W_): continue
            A[u, u] += w
            q = yy * W_ + xx
            if q in idx: A[u, idx[q]] -= w
            else: b[u] += w * flat[:, q]
    sol = np.linalg.solve(A, b)
    out = flat.copy()
    for u, p in enumerate(unk): out[:, p] = sol[u]
    return torch.tensor(out.reshape(c, H, W_))


def road(x, y, maps, fractions):
    n, c, H, W_ = x.shape
    morf, lerf = [], []
    for i in range(n):
        order = ranking(maps[i].flatten())
        for most, dest in ((True, morf), (False, lerf)):
            cur = []
            for p in fractions:
                k = int(np.floor(p * H * W_ + 0.5))
                removed = np.zeros(H * W_, dtype=bool)
                removed[order[:k] if most else order[::-1][:k]] = True
                cur.append(probability(linear_impute(x[i], removed).unsqueeze(0), i, y[i])[0])
            dest.append(cur)
    return morf, lerf


def spearman(a, b):
    def rank(v):
        order = np.argsort(v, kind="stable"); r = np.empty(len(v))
        i = 0
        while i < len(v):
            j = i
            while j + 1 < len(v) and v[order[j + 1]] == v[order[i]]: j += 1
            r[order[i:j + 1]] = (i + j) / 2 + 1
            i = j + 1
        return r
    return float(np.corrcoef(rank(a), rank(b))[0, 1])


def ssim(a, b, win=7):
    # Wang et al. 2004 with scikit-image's defaults: uniform window, sample covariance, K1 .01, K2 .03, range 1,
    # mean over windows fully inside.
    def scale(v): return (v - v.min()) / (v.max() - v.min()) if v.max() > v.min() else np.zeros_like(v)
    a, b = scale(a), scale(b)
    H, W_ = a.shape
    vals = []
    for i in range(H - win + 1):
        for j in range(W_ - win + 1):
            pa, pb = a[i:i + win, j:j + win].ravel(), b[i:i + win, j:j + win].ravel()
            ma, mb = pa.mean(), pb.mean()
            va, vb = pa.var(ddof=1), pb.var(ddof=1)
            cov = ((pa - ma) * (pb - mb)).sum() / (len(pa) - 1)
            c1, c2 = 0.01 ** 2, 0.03 ** 2
            vals.append((2 * ma * mb + c1) * (2 * cov + c2) / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2)))
    return float(np.mean(vals))


def hog(img, cell, block=2, bins=9, eps=1e-5):
    """Dalal and Triggs 2005 as scikit-image's hog computes it (block size aside): centred differences without halving,
    zero at the border rows/columns; unsigned angle atan2(d_row, d_col) in [0, 180) degrees; hard vote of the
    magnitude into one of `bins` bins; mean over the cell's pixels; blocks of block x block cells, stride one cell,
    L2-Hys (normalise, clip at 0.2, normalise again). Vectorised with numpy, unlike the C# loops."""
    img = np.asarray(img, dtype=np.float64)
    H, W_ = img.shape
    g_row = np.zeros_like(img); g_col = np.zeros_like(img)
    g_row[1:-1, :] = img[2:, :] - img[:-2, :]
    g_col[:, 1:-1] = img[:, 2:] - img[:, :-2]
    mag = np.hypot(g_row, g_col)
    ang = np.rad2deg(np.arctan2(g_row, g_col)) % 180.0
    b = np.minimum((ang // (180.0 / bins)).astype(int), bins - 1)
    cy, cx = H // cell, W_ // cell
    hist = np.zeros((cy, cx, bins))
    for i in range(cy):
        for j in range(cx):
            m = mag[i * cell:(i + 1) * cell, j * cell:(j + 1) * cell].ravel()
            k = b[i * cell:(i + 1) * cell, j * cell:(j + 1) * cell].ravel()
            hist[i, j] = np.bincount(k, weights=m, minlength=bins) / cell ** 2
    out = []
    for i in range(cy - block + 1):
        for j in range(cx - block + 1):
            v = hist[i:i + block, j:j + block].ravel()
            v = v / np.sqrt((v ** 2).sum() + eps ** 2)
            v = np.minimum(v, 0.2)
            out.append(v / np.sqrt((v ** 2).sum() + eps ** 2))
    return np.concatenate(out)


def hog_similarity(a, b, cell, block=2):
    def scale(v): return (v - v.min()) / (v.max() - v.min()) if v.max() > v.min() else np.zeros_like(v)
    return float(np.corrcoef(hog(scale(a), cell, block), hog(scale(b), cell, block))[0, 1])


def sobel(x):
    k = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)
    n, c, H, W_ = x.shape
    xp = np.zeros((n, c, H + 2, W_ + 2)); xp[:, :, 1:-1, 1:-1] = x.numpy()
    gx = np.zeros((n, c, H, W_)); gy = np.zeros((n, c, H, W_))
    for i in range(H):
        for j in range(W_):
            patch = xp[:, :, i:i + 3, j:j + 3]
            gx[:, :, i, j] = (patch * k).sum(axis=(2, 3))
            gy[:, :, i, j] = (patch * k.T).sum(axis=(2, 3))
    return np.sqrt(gx ** 2 + gy ** 2).sum(axis=1)


def main():
    ref_in = json.load(open(os.path.join(ATTR, "reference.json")))
    x = torch.tensor(ref_in["input"], dtype=torch.float64).reshape(ref_in["input_shape"])
    y = torch.tensor(ref_in["target"])
    rng = np.random.default_rng(11)
    maps = rng.random((2, 8, 8))
    maps[0, 0, :4] = maps[0, 0, 4]          # a run of ties
    other = rng.random((2, 8, 8))
    big_a, big_b = rng.random((10, 12)), rng.random((10, 12))
    big_b = 0.5 * big_a + 0.5 * big_b

    ref = {"maps": maps.flatten().tolist(), "other": other.flatten().tolist(),
           "ssim_a": big_a.flatten().tolist(), "ssim_b": big_b.flatten().tolist()}
    for layer in ("conv2", "block"):
        ref[f"layercam_{layer}"] = layer_cam(x, y, layer).flatten().tolist()
        ref[f"hirescam_{layer}"] = hires_cam(x, y, layer).flatten().tolist()
        ref[f"scorecam_{layer}"] = score_cam(x, y, layer).flatten().tolist()
    ref["occlusion_3x3_s2_b0"] = occlusion(x, y, 3, 3, 2, 2, 0.0).flatten().tolist()
    ref["occlusion_2x4_s1x3_b05"] = occlusion(x, y, 2, 4, 1, 3, 0.5).flatten().tolist()

    m = torch.tensor(maps)
    dele = deletion_insertion(x, y, m, 5, False, torch.zeros_like(x))
    ins = deletion_insertion(x, y, m, 5, True, blur(x, 11, 5.0))
    ref["blur_11_5"] = blur(x, 11, 5.0).flatten().tolist()
    ref["deletion_5"] = dele
    ref["deletion_5_auc"] = [auc(c) for c in dele]
    ref["insertion_5"] = ins
    ref["insertion_5_auc"] = [auc(c) for c in ins]
    fr = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    morf, lerf = road(x, y, m, fr)
    ref["road_morf"] = morf
    ref["road_lerf"] = lerf
    removed = np.zeros(64, dtype=bool); removed[ranking(maps[0].flatten())[:38]] = True
    ref["impute_removed"] = removed.tolist()
    ref["impute_example0"] = linear_impute(x[0], removed).flatten().tolist()

    ref["spearman"] = [spearman(maps[i].ravel(), other[i].ravel()) for i in range(2)]
    ref["spearman_abs_signed"] = spearman(np.abs(maps[0].ravel() - 0.5), np.abs(other[0].ravel() - 0.5))
    ref["ssim_8x8"] = [ssim(maps[i], other[i]) for i in range(2)]
    ref["ssim_10x12"] = ssim(big_a, big_b)
    ref["sobel"] = sobel(x).flatten().tolist()
    # HOG: a 28x28 pair (cell 4: 7x7 cells, 6x6 blocks) and a 20x27 pair (cell 5, blocks of 3; rows/columns dropped).
    hog_a = rng.random((28, 28)); hog_b = 0.6 * hog_a + 0.4 * rng.random((28, 28))
    hog_c, hog_d = rng.random((20, 27)), rng.random((20, 27))
    ref["hog_a"] = hog_a.flatten().tolist(); ref["hog_b"] = hog_b.flatten().tolist()
    ref["hog_c"] = hog_c.flatten().tolist(); ref["hog_d"] = hog_d.flatten().tolist()
    ref["hog_a_cell4"] = hog(hog_a, 4).tolist()
    ref["hog_c_cell5_block3"] = hog(hog_c, 5, 3).tolist()
    ref["hog_similarity_ab_cell4"] = hog_similarity(hog_a, hog_b, 4)
    ref["hog_similarity_cd_cell5_block3"] = hog_similarity(hog_c, hog_d, 5, 3)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(ref, f)
    print("wrote", OUT, "torch", torch.__version__, "numpy", np.__version__)


if __name__ == "__main__":
    main()
