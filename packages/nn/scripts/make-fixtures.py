"""PyTorch golden fixtures for @polymodal/nn.

Run once (needs torch; CI does not):  OMP_NUM_THREADS=1 python3 scripts/make-fixtures.py

For each module it builds the torch layer with a fixed seed and writes
  fixtures/<name>.safetensors  its state_dict (hand-written safetensors writer below)
  fixtures/<name>.json         {"input": ..., "inputShape": ..., "output": ..., "outputShape": ...}
plus fixtures/writer-check.safetensors, which the tests rebuild byte for byte with our writer, and
which is read back here with torch to show the format is what torch-side tooling expects.
"""
import json
import os
import struct

import torch
import torch.nn as nn

torch.manual_seed(0)
torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures")
os.makedirs(OUT, exist_ok=True)

# int64 is what PyTorch stores num_batches_tracked in (read back as int32 by @polymodal/nn).
DTYPES = {torch.float32: ("F32", 4), torch.int32: ("I32", 4), torch.bool: ("BOOL", 1), torch.int64: ("I64", 8)}


def to_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bool:
        return bytes(t.to(torch.uint8).flatten().tolist())
    fmt = "<%d%s" % (t.numel(), {torch.float32: "f", torch.int32: "i", torch.int64: "q"}[t.dtype])
    return struct.pack(fmt, *t.flatten().tolist())


def serialize(tensors, metadata=None):
    """Same layout as @polymodal/nn serializeSafetensors: 4-byte dtypes first, then by name."""
    items = sorted(tensors.items(), key=lambda kv: (-DTYPES[kv[1].dtype][1], kv[0]))
    parts = []
    if metadata:
        parts.append('"__metadata__":' + json.dumps(metadata, separators=(",", ":"), ensure_ascii=False))
    offset = 0
    blobs = []
    for name, t in items:
        data = to_bytes(t)
        entry = {"dtype": DTYPES[t.dtype][0], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        parts.append(json.dumps(name, ensure_ascii=False) + ":" + json.dumps(entry, separators=(",", ":")))
        blobs.append(data)
        offset += len(data)
    header = ("{" + ",".join(parts) + "}").encode("utf-8")
    header += b" " * ((8 - len(header) % 8) % 8)
    return struct.pack("<Q", len(header)) + header + b"".join(blobs)


def read_with_torch(raw):
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        dtype = {"F32": torch.float32, "I32": torch.int32, "BOOL": torch.bool}[info["dtype"]]
        out[name] = torch.frombuffer(bytearray(data[b:e]), dtype=dtype).reshape(info["shape"]) if e > b else torch.zeros(info["shape"], dtype=dtype)
    return out


def dump(name, module, x):
    module.eval()
    with torch.no_grad():
        y = module(x)
    with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
        f.write(serialize(dict(module.state_dict())))
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(
            {
                "input": x.flatten().tolist(),
                "inputShape": list(x.shape),
                "output": y.flatten().tolist(),
                "outputShape": list(y.shape),
            },
            f,
        )


torch.manual_seed(1)
dump("linear", nn.Linear(5, 3), torch.randn(4, 5))
torch.manual_seed(2)
ln = nn.LayerNorm(6)
with torch.no_grad():  # non-trivial affine parameters
    ln.weight.copy_(torch.randn(6))
    ln.bias.copy_(torch.randn(6))
dump("layer-norm", ln, torch.randn(2, 3, 6))
torch.manual_seed(3)
dump("conv2d", nn.Conv2d(2, 3, 3, stride=2, padding=1), torch.randn(2, 2, 5, 5))
torch.manual_seed(4)
emb = nn.Embedding(10, 4, padding_idx=1)
ids = torch.tensor([[0, 1, 9], [3, 3, 1]])
emb.eval()
with torch.no_grad():
    ey = emb(ids)
with open(os.path.join(OUT, "embedding.safetensors"), "wb") as f:
    f.write(serialize(dict(emb.state_dict())))
with open(os.path.join(OUT, "embedding.json"), "w") as f:
    json.dump({"input": ids.flatten().tolist(), "inputShape": list(ids.shape), "output": ey.flatten().tolist(), "outputShape": list(ey.shape)}, f)
torch.manual_seed(5)
# torchvision.ops.MLP layout: Linear, act, Dropout, Linear, Dropout (names 0..4).
mlp = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Dropout(0.0), nn.Linear(8, 3), nn.Dropout(0.0))
dump("mlp", mlp, torch.randn(5, 4))
torch.manual_seed(6)


class Patch(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Conv2d(3, 8, 4, stride=4)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


dump("patch-embedding", Patch(), torch.randn(2, 3, 8, 12))



def write_state(name, module):
    with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
        f.write(serialize(dict(module.state_dict())))


def flat(t):
    return t.detach().flatten().tolist()


def norm_training(name, module, shapes, eval_shape, config):
    """A normalization layer through training steps: the initial state dict, each step's input and
    output, the gradients of step 0 for an upstream gradient g, the state dict after the steps (with
    running statistics and num_batches_tracked as int64, as torch saves them) and an eval output."""
    write_state(name + "-init", module)
    module.train()
    steps = []
    grads = {}
    for k, shape in enumerate(shapes):
        x = (torch.randn(*shape) * 2 + 0.5).requires_grad_()
        y = module(x)
        step = {"input": flat(x), "inputShape": list(shape), "output": flat(y)}
        if k == 0:
            g = torch.randn(*y.shape)
            (y * g).sum().backward()
            grads = {"upstream": flat(g), "gradInput": flat(x.grad)}
            for pname, p in module.named_parameters():
                grads["grad." + pname] = flat(p.grad)
        steps.append(step)
    module.eval()
    xe = torch.randn(*eval_shape) * 2 + 0.5
    with torch.no_grad():
        ye = module(xe)
    write_state(name, module)
    buffers = {bname: flat(b) for bname, b in module.named_buffers()}
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump({"config": config, "steps": steps, **grads, "buffers": buffers,
                   "evalInput": flat(xe), "evalInputShape": list(eval_shape), "evalOutput": flat(ye)}, f)


def randomize_affine(module):
    with torch.no_grad():
        module.weight.copy_(torch.rand(module.weight.shape) + 0.5)
        module.bias.copy_(torch.randn(module.bias.shape))


torch.manual_seed(7)
bn2d = nn.BatchNorm2d(4)
randomize_affine(bn2d)
norm_training("batch-norm-2d", bn2d, [(3, 4, 5, 6), (2, 4, 5, 6), (3, 4, 5, 6)], (2, 4, 5, 6), {})
torch.manual_seed(8)
bn1d = nn.BatchNorm1d(3, momentum=None, eps=1e-3)
randomize_affine(bn1d)
norm_training("batch-norm-1d-cumulative", bn1d, [(4, 3, 7), (5, 3, 7), (2, 3, 7), (6, 3, 7)], (3, 3, 7),
              {"momentum": None, "eps": 1e-3})
torch.manual_seed(9)
norm_training("batch-norm-1d-untracked", nn.BatchNorm1d(5, affine=False, track_running_stats=False),
              [(6, 5)], (4, 5), {"affine": False, "trackRunningStats": False})
torch.manual_seed(10)
gn = nn.GroupNorm(3, 6)
randomize_affine(gn)
norm_training("group-norm", gn, [(2, 6, 3, 4)], (1, 6, 3, 4), {})



def add_coords(x, with_r=False):
    """CoordConv's AddCoords (Liu et al. 2018) as specified for @polymodal/nn: x = column position,
    y = row position, each spread over [-1, 1] (0 for a single cell), then the radius."""
    n, _, h, w = x.shape
    xs = torch.linspace(-1, 1, w) if w > 1 else torch.zeros(1)
    ys = torch.linspace(-1, 1, h) if h > 1 else torch.zeros(1)
    xx = xs.view(1, 1, 1, w).expand(n, 1, h, w)
    yy = ys.view(1, 1, h, 1).expand(n, 1, h, w)
    parts = [x, xx, yy] + ([torch.sqrt(xx * xx + yy * yy)] if with_r else [])
    return torch.cat(parts, 1)


class CoordConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3 + 3, 4, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(add_coords(x, True))


torch.manual_seed(11)
spatial = {}
x = torch.randn(2, 3, 7, 6)
for name, fn in [
    ("maxPool2d(3, stride 2, padding 1)", nn.MaxPool2d(3, stride=2, padding=1)),
    ("avgPool2d(2)", nn.AvgPool2d(2)),
    ("AdaptiveAvgPool2d(1)", nn.AdaptiveAvgPool2d(1)),
    ("AdaptiveMaxPool2d(1)", nn.AdaptiveMaxPool2d(1)),
    ("addCoordChannels", lambda t: add_coords(t)),
    ("addCoordChannels withRadius", lambda t: add_coords(t, True)),
    ("featureMapToSequence coords", lambda t: add_coords(t).flatten(2).transpose(1, 2)),
    ("addCoordChannels 1x1", lambda t: add_coords(t[:, :, :1, :1], True)),
]:
    xi = x.clone().requires_grad_()
    y = fn(xi)
    g = torch.randn(*y.shape)
    (y * g).sum().backward()
    spatial[name] = {"output": flat(y), "outputShape": list(y.shape), "upstream": flat(g), "gradInput": flat(xi.grad)}
coord_conv = CoordConv()
write_state("coord-conv", coord_conv)
with torch.no_grad():
    spatial["CoordConv2d"] = {"output": flat(coord_conv(x)), "outputShape": list(coord_conv(x).shape)}
with open(os.path.join(OUT, "spatial.json"), "w") as f:
    json.dump({"input": flat(x), "inputShape": list(x.shape), "cases": spatial}, f)

# Writer check: fixed values the TS test rebuilds exactly.
check = {
    "weight": torch.arange(12, dtype=torch.float32).reshape(3, 4) / 8 - 0.5,
    "ids": torch.tensor([-3, 0, 7, 2147483647], dtype=torch.int32),
    "mask": torch.tensor([[True, False, True]]),
    "0": torch.tensor(1.25),
    "layers.0.bias": torch.tensor([0.1, -0.2, 0.3], dtype=torch.float32),
}
raw = serialize(check, {"format": "pt", "note": "ünïcode"})
with open(os.path.join(OUT, "writer-check.safetensors"), "wb") as f:
    f.write(raw)
back = read_with_torch(raw)
for k, v in check.items():
    assert torch.equal(back[k], v), k
print("fixtures written; torch reads writer-check.safetensors back exactly")
