"""PyTorch golden fixtures for FiLM and relational fusion in @polymodal/fusion.

Run once (needs torch, e.g. Debian python3-torch; CI does not):
    OMP_NUM_THREADS=1 /usr/bin/python3 scripts/make-conditioning-fixtures.py

Writes fixtures/conditioning.json. Each reference is written from the papers' definitions with
torch's own layers, independently of our implementation:
- FiLM (Perez et al. 2018): h0 = ReLU(W_in x); per block k, [dγ; β] from the pooled question;
  h = h + ReLU((1 + dγ)·norm(W_k h) + β), norm = BatchNorm1d over (batch, cells) without affine
  (train mode) or LayerNorm without affine; sequence = ReLU(W_out h); fused = max or masked mean.
- Relation Network (Santoro et al. 2017): the naive form, every ordered pair's [o_i; o_j; q] built
  explicitly ([B, N, N, 2D + Dq]) and fed to ONE Linear (its weight is then split column-wise into
  our left / right / question layers in the state dict), ReLU, the other g layers, masked sum or
  mean over pairs, f. This checks that our per-cell decomposition computes the same thing.
Inputs as in make-fixtures.py: image [2, 3, 4] cells, text [2, 2, 3] with sample 0's second token
padded (and garbage under it); some cases also pad image cell 2 of sample 1. Every tensor is
{"shape": [...], "data": [flat values]}.
"""
import json
import os

import torch
import torch.nn as nn

torch.set_num_threads(1)
torch.manual_seed(0)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")


def enc(t):
    t = torch.as_tensor(t)
    if t.dtype == torch.bool:
        return {"shape": list(t.shape), "data": [bool(v) for v in t.flatten().tolist()]}
    return {"shape": list(t.shape), "data": [float("%.9g" % v) for v in t.detach().double().flatten().tolist()]}


def masked_mean(x, mask):  # mask: true = real
    if mask is None:
        return x.mean(1)
    m = mask.to(x.dtype).unsqueeze(-1)
    return (x * m).sum(1) / m.sum(1).clamp(min=1)


class FiLM(nn.Module):
    def __init__(self, d_img=4, d_q=3, h=6, k=2, out=5, norm="batch", pooling="max", grid=None, coords=False,
                 input_projection=True):
        super().__init__()
        self.h, self.k, self.norm_kind, self.pooling, self.grid = h, k, norm, pooling, grid
        self.input = nn.Linear(d_img, h) if input_projection else None
        self.film = nn.Linear(d_q, 2 * k * h)
        self.blocks = nn.ModuleList()
        for _ in range(k):
            block = nn.Module()
            if coords:  # the paper's 1x1 projection of [h; x; y] that starts each block
                block.pre = nn.Linear(h + 2, h)
            if grid is None:
                block.linear = nn.Linear(h, h, bias=False)
            else:  # the paper's 3x3 convolution over the cells' grid
                block.conv = nn.Conv2d(h, h, 3, padding=1, bias=False)
            if norm == "batch":
                block.norm = nn.BatchNorm1d(h, affine=False)
            self.blocks.append(block)
        self.output = nn.Linear(h + (2 if coords else 0), out)
        self.xy = None
        if coords:  # (x, y) per cell in row-major order, x along columns, both in [-1, 1]
            ys, xs = torch.meshgrid(torch.linspace(-1, 1, grid[0]), torch.linspace(-1, 1, grid[1]), indexing="ij")
            self.xy = torch.stack([xs.flatten(), ys.flatten()], 1)
        if pooling == "flatten":  # every cell's features, in order, through one linear layer + ReLU
            self.readout = nn.Linear(grid[0] * grid[1] * out, out)

    def forward(self, image, text, image_mask, text_mask):
        q = masked_mean(text, text_mask)
        params = self.film(q).view(-1, self.k, 2 * self.h)
        x = torch.relu(self.input(image)) if self.input is not None else image
        b, n, _ = x.shape
        for i, block in enumerate(self.blocks):
            dgamma, beta = params[:, i : i + 1, : self.h], params[:, i : i + 1, self.h :]
            if self.xy is not None:
                x = torch.relu(block.pre(torch.cat([x, self.xy.expand(b, -1, -1)], 2)))
            if self.grid is None:
                u = block.linear(x)
            else:
                gh, gw = self.grid
                u = block.conv(x.transpose(1, 2).reshape(b, self.h, gh, gw)).reshape(b, self.h, n).transpose(1, 2)
            if self.norm_kind == "batch":
                u = block.norm(u.reshape(b * n, self.h)).reshape(b, n, self.h)
            else:
                u = nn.functional.layer_norm(u, (self.h,))
            x = x + torch.relu((1 + dgamma) * u + beta)
        seq = torch.relu(self.output(x if self.xy is None else torch.cat([x, self.xy.expand(b, -1, -1)], 2)))
        if image_mask is not None:
            seq = seq * image_mask.to(seq.dtype).unsqueeze(-1)
        if self.pooling == "flatten":
            fused = torch.relu(self.readout(seq.flatten(1)))
        else:
            fused = seq.max(1).values if self.pooling == "max" else masked_mean(seq, image_mask)
        return {"fused": fused, "sequence": seq}


class RelationNetwork(nn.Module):
    def __init__(self, d_obj=4, d_q=3, h=6, g_layers=3, f_layers=2, out=5, aggregation="mean"):
        super().__init__()
        self.d_obj, self.aggregation = d_obj, aggregation
        self.g0 = nn.Linear(2 * d_obj + d_q, h)
        self.g = nn.ModuleList([nn.Linear(h, h) for _ in range(g_layers - 1)])
        self.f = nn.ModuleList([nn.Linear(h, h) for _ in range(f_layers - 1)] + [nn.Linear(h, out)])

    def forward(self, image, text, image_mask, text_mask):
        q = masked_mean(text, text_mask)
        b, n, d = image.shape
        oi = image.unsqueeze(2).expand(b, n, n, d)
        oj = image.unsqueeze(1).expand(b, n, n, d)
        qq = q.view(b, 1, 1, -1).expand(b, n, n, q.shape[-1])
        x = torch.relu(self.g0(torch.cat([oi, oj, qq], -1)))
        for layer in self.g:
            x = torch.relu(layer(x))
        x = x.reshape(b, n * n, -1)
        if image_mask is None:
            pm = torch.ones(b, n * n, 1, dtype=x.dtype)
        else:
            m = image_mask.to(x.dtype)
            pm = (m.unsqueeze(2) * m.unsqueeze(1)).reshape(b, n * n, 1)
        agg = (x * pm).sum(1)
        if self.aggregation == "mean":
            agg = agg / pm.sum(1).clamp(min=1)
        for i, layer in enumerate(self.f):
            agg = layer(agg)
            if i < len(self.f) - 1:
                agg = torch.relu(agg)
        return {"fused": agg}

    def our_state_dict(self):
        """Our names: g0's weight split by columns into left / right / question; g and f as MLPs."""
        w, d = self.g0.weight, self.d_obj
        sd = {"left.weight": w[:, :d], "left.bias": self.g0.bias, "right.weight": w[:, d : 2 * d],
              "question.weight": w[:, 2 * d :]}
        # MLP layout (torchvision): Linear, ReLU, Dropout per hidden layer, then Linear, Dropout.
        for i, layer in enumerate(self.g):
            sd[f"g.{3 * i}.weight"], sd[f"g.{3 * i}.bias"] = layer.weight, layer.bias
        for i, layer in enumerate(self.f):
            sd[f"f.{3 * i}.weight"], sd[f"f.{3 * i}.bias"] = layer.weight, layer.bias
        return sd


def main():
    torch.set_default_dtype(torch.float64)
    image = torch.randn(2, 3, 4)
    text = torch.randn(2, 2, 3)
    text[0, 1] += 50.0  # garbage under the text padding
    text_mask = torch.tensor([[True, False], [True, True]])
    padded_image = image.clone()
    padded_image[1, 2] += 50.0  # garbage under the image padding
    image_mask = torch.tensor([[True, True, True], [True, True, False]])
    cases = {}
    for name, model, img, mask in [
        ("film batch max", FiLM(), image, None),
        ("film layer mean, padded cells", FiLM(norm="layer", pooling="mean"), padded_image, image_mask),
        ("film layer max, padded cells", FiLM(norm="layer", pooling="max"), padded_image, image_mask),
        ("relational mean, padded cells", RelationNetwork(), padded_image, image_mask),
        ("relational sum", RelationNetwork(g_layers=2, f_layers=1, aggregation="sum"), image, None),
    ]:
        run_case(cases, name, model, img, mask, text, text_mask)
    # Appended after the others so their random draws (and fixtures) stay as they were.
    grid_image = torch.randn(2, 6, 4)
    run_case(cases, "film batch max, 2x3 grid", FiLM(grid=(2, 3)), grid_image, None, text, text_mask)
    run_case(cases, "film batch flatten, 2x3 grid", FiLM(grid=(2, 3), pooling="flatten"), grid_image, None, text, text_mask)
    run_case(cases, "film batch flatten coords, 2x3 grid", FiLM(grid=(2, 3), pooling="flatten", coords=True),
             grid_image, None, text, text_mask)
    wide_grid_image = torch.randn(2, 6, 6)  # as wide as hidden: the blocks start from the cells themselves
    run_case(cases, "film batch flatten coords, no input projection", FiLM(d_img=6, grid=(2, 3), pooling="flatten",
             coords=True, input_projection=False), wide_grid_image, None, text, text_mask)
    with open(os.path.join(OUT, "conditioning.json"), "w") as f:
        json.dump({"torch": torch.__version__, "text": enc(text), "textMask": enc(text_mask), "cases": cases}, f)


def run_case(cases, name, model, img, mask, text, text_mask):
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
    model.train()
    state = model.our_state_dict() if isinstance(model, RelationNetwork) else dict(model.state_dict())
    state = {k: enc(v) for k, v in state.items()}
    with torch.no_grad():
        outputs = model(img, text, mask, text_mask)
    cases[name] = {
        "stateDict": state,
        "image": enc(img),
        "imageMask": enc(mask) if mask is not None else None,
        "outputs": {k: enc(v) for k, v in outputs.items()},
    }


if __name__ == "__main__":
    main()
