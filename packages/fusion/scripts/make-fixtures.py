"""PyTorch golden fixtures for the token-level strategies of @polymodal/fusion.

Run once (needs torch, e.g. Debian python3-torch; CI does not):
    OMP_NUM_THREADS=1 /usr/bin/python3 scripts/make-fixtures.py

Writes fixtures/token-level.json: for each of early, self-attention, hierarchical and intermediate
fusion, a torch reference built from torch's own layers (nn.TransformerEncoder[Layer],
nn.TransformerDecoderLayer, nn.MultiheadAttention) with the same parameter names as ours, its state
dict, the inputs (image [2, 3, 4], text [2, 2, 3] with the second text token of sample 0 padded),
and its outputs. Every tensor is {"shape": [...], "data": [flat values]}. Dropout is 0 and modules
stay in train mode, so torch takes its reference (non-fused) path.
"""
import json
import os

import torch
import torch.nn as nn

torch.set_num_threads(1)
torch.manual_seed(0)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
os.makedirs(OUT, exist_ok=True)

D_MODEL, HEADS, FF = 8, 2, 16
DIMS = {"image": 4, "text": 3}
NAMES = sorted(DIMS)


def enc(t):
    t = torch.as_tensor(t)
    if t.dtype == torch.bool:
        return {"shape": list(t.shape), "data": [bool(v) for v in t.flatten().tolist()]}
    # 9 significant digits: more than float32 holds, and a third of the file size of full float64.
    return {"shape": list(t.shape), "data": [float("%.9g" % v) for v in t.detach().double().flatten().tolist()]}


def encoder_layer():
    return nn.TransformerEncoderLayer(
        D_MODEL, HEADS, FF, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
    )


def projections():
    return nn.ModuleDict({m: nn.Linear(DIMS[m], D_MODEL) for m in NAMES})


def masked_mean(x, mask):  # mask: true = real token
    m = mask.to(x.dtype).unsqueeze(-1)
    return (x * m).sum(1) / m.sum(1).clamp(min=1)


class Early(nn.Module):
    """ViLT: [CLS] + (proj + type + position) tokens → pre-norm encoder with final norm; fused = [CLS]."""

    def __init__(self, max_positions=3, layers=2):
        super().__init__()
        self.projections = projections()
        self.modality_embeddings = nn.Parameter(torch.zeros(len(NAMES), D_MODEL))
        self.position_embeddings = nn.ModuleDict({m: nn.Embedding(max_positions, D_MODEL) for m in NAMES})
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D_MODEL))
        self.encoder = nn.TransformerEncoder(
            encoder_layer(), layers, norm=nn.LayerNorm(D_MODEL), enable_nested_tensor=False
        )

    def forward(self, x, masks):
        b = x[NAMES[0]].shape[0]
        parts, part_masks = [self.cls_token.expand(b, 1, D_MODEL)], [torch.ones(b, 1, dtype=torch.bool)]
        for i, m in enumerate(NAMES):
            L = x[m].shape[1]
            h = self.projections[m](x[m]) + self.modality_embeddings[i] + self.position_embeddings[m].weight[:L]
            parts.append(h)
            part_masks.append(masks.get(m, torch.ones(b, L, dtype=torch.bool)))
        mask = torch.cat(part_masks, 1)
        seq = self.encoder(torch.cat(parts, 1), src_key_padding_mask=~mask)
        return {"fused": seq[:, 0], "sequence": seq}


class SelfAttention(nn.Module):
    """Per-modality projections, joint pre-norm encoder over the concatenation; fused = masked mean."""

    def __init__(self, layers=2):
        super().__init__()
        self.projections = projections()
        self.encoder = nn.TransformerEncoder(
            encoder_layer(), layers, norm=nn.LayerNorm(D_MODEL), enable_nested_tensor=False
        )

    def forward(self, x, masks):
        b = x[NAMES[0]].shape[0]
        parts = [self.projections[m](x[m]) for m in NAMES]
        mask = torch.cat([masks.get(m, torch.ones(b, x[m].shape[1], dtype=torch.bool)) for m in NAMES], 1)
        seq = self.encoder(torch.cat(parts, 1), src_key_padding_mask=~mask)
        return {"fused": masked_mean(seq, mask), "sequence": seq}


class CrossModal(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(D_MODEL, HEADS, kdim=D_MODEL, vdim=D_MODEL, batch_first=True)


class Hierarchical(nn.Module):
    """Token level: each modality cross-attends to the others (+ residual, LayerNorm), masked mean,
    concat, Linear; pooled level: masked means of raw inputs, concat, Linear; fused = Linear(both)."""

    def __init__(self, out=5):
        super().__init__()
        self.projections = projections()
        self.cross_attention = nn.ModuleDict({m: CrossModal() for m in NAMES})
        self.norms = nn.ModuleDict({m: nn.LayerNorm(D_MODEL) for m in NAMES})
        self.token_head = nn.Linear(len(NAMES) * D_MODEL, out)
        self.pooled_head = nn.Linear(sum(DIMS.values()), out)
        self.combine = nn.Linear(2 * out, out)

    def forward(self, x, masks):
        b = x[NAMES[0]].shape[0]
        full = {m: masks.get(m, torch.ones(b, x[m].shape[1], dtype=torch.bool)) for m in NAMES}
        proj = {m: self.projections[m](x[m]) for m in NAMES}
        pooled_tokens = []
        for m in NAMES:
            others = [n for n in NAMES if n != m]
            ctx = torch.cat([proj[n] for n in others], 1)
            ctx_mask = torch.cat([full[n] for n in others], 1)
            out, _ = self.cross_attention[m].attn(proj[m], ctx, ctx, key_padding_mask=~ctx_mask)
            pooled_tokens.append(masked_mean(self.norms[m](proj[m] + out), full[m]))
        token = self.token_head(torch.cat(pooled_tokens, -1))
        pooled = self.pooled_head(torch.cat([masked_mean(x[m], full[m]) for m in NAMES], -1))
        return {"fused": self.combine(torch.cat([token, pooled], -1)), "token": token, "pooled": pooled}


class Intermediate(nn.Module):
    """Two streams; layer 1 is a co-attention layer (nn.TransformerDecoderLayer, memory = the other
    stream's previous states), layer 0 a plain encoder layer; final LayerNorms; fused = Linear(concat
    of masked means)."""

    def __init__(self, layers=2, cross=(1,)):
        super().__init__()
        self.projections = projections()

        def layer(i):
            if i in cross:
                return nn.TransformerDecoderLayer(
                    D_MODEL, HEADS, FF, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
                )
            return encoder_layer()

        self.streams = nn.ModuleDict({m: nn.ModuleList([layer(i) for i in range(layers)]) for m in NAMES})
        self.norms = nn.ModuleDict({m: nn.LayerNorm(D_MODEL) for m in NAMES})
        self.head = nn.Linear(2 * D_MODEL, D_MODEL)

    def forward(self, x, masks):
        a, b_ = NAMES
        b = x[a].shape[0]
        ma = masks.get(a, torch.ones(b, x[a].shape[1], dtype=torch.bool))
        mb = masks.get(b_, torch.ones(b, x[b_].shape[1], dtype=torch.bool))
        ha, hb = self.projections[a](x[a]), self.projections[b_](x[b_])
        for la, lb in zip(self.streams[a], self.streams[b_]):
            if isinstance(la, nn.TransformerDecoderLayer):
                ha, hb = (
                    la(ha, hb, tgt_key_padding_mask=~ma, memory_key_padding_mask=~mb),
                    lb(hb, ha, tgt_key_padding_mask=~mb, memory_key_padding_mask=~ma),
                )
            else:
                ha, hb = la(ha, src_key_padding_mask=~ma), lb(hb, src_key_padding_mask=~mb)
        sa, sb = self.norms[a](ha), self.norms[b_](hb)
        return {"fused": self.head(torch.cat([masked_mean(sa, ma), masked_mean(sb, mb)], -1)), a: sa, b_: sb}


def main():
    torch.set_default_dtype(torch.float64)
    inputs = {"image": torch.randn(2, 3, 4), "text": torch.randn(2, 2, 3)}
    inputs["text"][0, 1] += 50.0  # garbage under the padding
    text_mask = torch.tensor([[True, False], [True, True]])
    cases = {}
    for name, model in [
        ("early", Early()),
        ("self-attention", SelfAttention()),
        ("hierarchical", Hierarchical()),
        ("intermediate", Intermediate()),
    ]:
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.randn_like(p) * 0.3)
        model.train()
        with torch.no_grad():
            outputs = model(inputs, {"text": text_mask})
        cases[name] = {
            "stateDict": {k: enc(v) for k, v in model.state_dict().items()},
            "outputs": {k: enc(v) for k, v in outputs.items()},
        }
    fixture = {
        "torch": torch.__version__,
        "inputs": {k: enc(v) for k, v in inputs.items()},
        "masks": {"text": enc(text_mask)},
        "cases": cases,
    }
    with open(os.path.join(OUT, "token-level.json"), "w") as f:
        json.dump(fixture, f)


if __name__ == "__main__":
    main()
