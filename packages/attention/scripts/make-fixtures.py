"""PyTorch golden fixtures for @polymodal/attention.

Run once (needs torch; CI does not):  OMP_NUM_THREADS=1 python3 scripts/make-fixtures.py

Each fixture is fixtures/<name>.json: {"stateDict": {key: {"shape", "data"}}, "inputs": {...},
"outputs": {...}}, each tensor as {"shape": [...], "data": [flat values]}. Dropout is 0 and modules
stay in train mode, so torch takes its reference (non-fused) path.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
os.makedirs(OUT, exist_ok=True)


def enc(t):
    t = torch.as_tensor(t)
    if t.dtype == torch.bool:
        data = [bool(v) for v in t.flatten().tolist()]
    else:
        data = t.detach().double().flatten().tolist()
    return {"shape": list(t.shape), "data": data}


def dump(name, module, inputs, outputs):
    sd = {} if module is None else {k: enc(v) for k, v in module.state_dict().items()}
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump({"stateDict": sd, "inputs": {k: enc(v) for k, v in inputs.items()}, "outputs": {k: enc(v) for k, v in outputs.items()}}, f)


def randomize(module, seed):
    """Non-zero biases and LayerNorm affines, so every parameter matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)


# 1. Self-attention, packed in_proj, key padding mask; weights averaged and per head.
torch.manual_seed(0)
mha = nn.MultiheadAttention(8, 2, batch_first=True)
randomize(mha, 1)
x = torch.randn(2, 4, 8)
pad = torch.tensor([[False, False, False, True], [False, False, True, True]])
out, w = mha(x, x, x, key_padding_mask=pad, need_weights=True)
_, wh = mha(x, x, x, key_padding_mask=pad, need_weights=True, average_attn_weights=False)
dump("mha-self", mha, {"x": x, "keyPaddingMask": pad}, {"output": out, "weights": w, "headWeights": wh})

# 2. Cross-attention with kdim != vdim != embed_dim (separate q/k/v weights) and a bool attn_mask.
torch.manual_seed(2)
mha2 = nn.MultiheadAttention(8, 4, kdim=6, vdim=5, batch_first=True)
randomize(mha2, 3)
q = torch.randn(2, 3, 8)
k = torch.randn(2, 5, 6)
v = torch.randn(2, 5, 5)
mask = torch.tensor([[False, True, False, False, True], [False, False, False, True, True], [True, False, False, False, False]])
out2, w2 = mha2(q, k, v, attn_mask=mask)
dump("mha-cross", mha2, {"q": q, "k": k, "v": v, "attnMask": mask}, {"output": out2, "weights": w2})

# 3./4. Encoder layers, post-norm (relu) and pre-norm (gelu), with a key padding mask.
for name, norm_first, act, seed in [("encoder-post-norm", False, "relu", 4), ("encoder-pre-norm", True, "gelu", 5)]:
    torch.manual_seed(seed)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, activation=act, norm_first=norm_first, batch_first=True)
    randomize(layer, seed + 100)
    layer.train()
    src = torch.randn(2, 5, 8)
    pad = torch.tensor([[False] * 5, [False, False, False, True, True]])
    y = layer(src, src_key_padding_mask=pad)
    dump(name, layer, {"src": src, "srcKeyPaddingMask": pad}, {"output": y})

# 5. A 2-layer pre-norm encoder with a final LayerNorm and a causal mask.
torch.manual_seed(6)
layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=12, dropout=0.0, norm_first=True, batch_first=True)
encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8), enable_nested_tensor=False)
randomize(encoder, 106)
encoder.train()
src = torch.randn(2, 4, 8)
causal = torch.triu(torch.ones(4, 4, dtype=torch.bool), diagonal=1)
y = encoder(src, mask=causal)
dump("encoder-2-layers", encoder, {"src": src}, {"output": y})


# 5b. CrossAttentionLayer with dContext == dModel is torch's TransformerDecoderLayer (pre-norm, gelu).
torch.manual_seed(7)
dec = nn.TransformerDecoderLayer(8, 2, dim_feedforward=12, dropout=0.0, activation="gelu", norm_first=True, batch_first=True)
randomize(dec, 107)
dec.train()
tgt = torch.randn(2, 3, 8)
memory = torch.randn(2, 4, 8)
mem_pad = torch.tensor([[False, False, False, True], [False] * 4])
y = dec(tgt, memory, memory_key_padding_mask=mem_pad)
dump("decoder-layer", dec, {"x": tgt, "context": memory, "contextPaddingMask": mem_pad}, {"output": y})

# 6. Positional encodings: Vaswani's formula and MAE's get_2d_sincos_pos_embed (numpy, verbatim logic).
def sinusoid(length, dim):
    pe = torch.zeros(length, dim)
    pos = torch.arange(length, dtype=torch.float64).unsqueeze(1)
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float64) * (-math.log(10000.0) / dim))
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe


def mae_1d(embed_dim, pos):
    omega = np.arange(embed_dim // 2, dtype=np.float64) / (embed_dim / 2.0)
    omega = 1.0 / 10000**omega
    out = np.einsum("m,d->md", pos.reshape(-1), omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def mae_2d(embed_dim, gh, gw):
    grid_h = np.arange(gh, dtype=np.float32)
    grid_w = np.arange(gw, dtype=np.float32)
    grid = np.meshgrid(grid_w, grid_h)
    grid = np.stack(grid, axis=0).reshape([2, 1, gh, gw])
    emb_h = mae_1d(embed_dim // 2, grid[0])
    emb_w = mae_1d(embed_dim // 2, grid[1])
    return np.concatenate([emb_h, emb_w], axis=1)


dump("positional", None, {}, {"sinusoidal-10x6": sinusoid(10, 6), "sincos2d-3x4x8": torch.from_numpy(mae_2d(8, 3, 4))})
print("attention fixtures written")
