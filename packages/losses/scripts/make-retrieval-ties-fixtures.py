"""Golden values for retrievalMetrics on similarity matrices with ties.

Run from packages/losses (Debian's python3-torch):
    OMP_NUM_THREADS=1 /usr/bin/python3 scripts/make-retrieval-ties-fixtures.py
Writes fixtures/retrieval-ties.json.

Two tie rules, each computed here independently of the TypeScript code:
  index:       rank by a *stable* descending argsort (torch.argsort(..., descending=True,
               stable=True)), so tied candidates keep index order. This is the ranking of OpenCLIP's
               `get_clip_metrics` (argsort, `torch.where(ranking == ground_truth)`) and of VSE++'s
               i2t/t2i (best rank over an image's captions), with the sort made stable: their
               unstable sorts order ties arbitrarily (torch's CPU sort keeps index order only for
               small rows).
  pessimistic: every tied non-matching candidate ranks above the ground truth
               (rank = 1 + #{non-matching j : s_j >= s_gt}), counted with numpy.
R@K in percent, median rank = floor(median(0-based)) + 1 and mean rank + 1 as OpenCLIP reports them.
"""
import json
import os

import numpy as np
import torch

torch.manual_seed(0)
torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "retrieval-ties.json")


def summary(ranks0):
    """OpenCLIP-style summary of 0-based ranks."""
    r = np.asarray(ranks0)
    return {
        "r1": float(np.mean(r < 1) * 100),
        "r5": float(np.mean(r < 5) * 100),
        "r10": float(np.mean(r < 10) * 100),
        "medianRank": int(np.floor(np.median(r)) + 1),
        "meanRank": float(r.mean() + 1),
    }


def index_ranks(sim, caption_image):
    """0-based ranks with ties in index order (stable descending argsort), VSE++ style."""
    n_img, n_txt = sim.shape
    i2t = []
    order = torch.argsort(sim, dim=1, descending=True, stable=True)
    for i in range(n_img):
        own = [t for t in range(n_txt) if caption_image[t] == i]
        pos = [int(torch.where(order[i] == t)[0][0]) for t in own]
        i2t.append(min(pos))
    t2i = []
    order_t = torch.argsort(sim.T, dim=1, descending=True, stable=True)
    for t in range(n_txt):
        t2i.append(int(torch.where(order_t[t] == caption_image[t])[0][0]))
    return i2t, t2i


def pessimistic_ranks(sim, caption_image):
    s = sim.numpy()
    cap = np.asarray(caption_image)
    i2t = []
    for i in range(s.shape[0]):
        own = cap == i
        best = s[i, own].max()
        i2t.append(int(np.sum(s[i, ~own] >= best)))
    t2i = []
    for t in range(s.shape[1]):
        g = cap[t]
        others = np.arange(s.shape[0]) != g
        t2i.append(int(np.sum(s[others, t] >= s[g, t])))
    return i2t, t2i


def open_clip_get_clip_metrics(sim):
    """OpenCLIP's get_clip_metrics ranking (1:1 pairs), with a stable sort."""
    out = {}
    logits = {"image_to_text": sim, "text_to_image": sim.T}
    ground_truth = torch.arange(sim.shape[0]).view(-1, 1)
    for name, logit in logits.items():
        ranking = torch.argsort(logit, dim=1, descending=True, stable=True)
        preds = torch.where(ranking == ground_truth)[1].numpy()
        out[name] = summary(preds)
    return out


def case(name, sim, caption_image):
    sim = sim.to(torch.float64)
    entry = {"name": name, "similarity": sim.tolist(), "captionImage": list(caption_image)}
    for rule, fn in (("index", index_ranks), ("pessimistic", pessimistic_ranks)):
        i2t, t2i = fn(sim, caption_image)
        entry[rule] = {
            "imageToTextRanks": [r + 1 for r in i2t],
            "textToImageRanks": [r + 1 for r in t2i],
            "imageToText": summary(i2t),
            "textToImage": summary(t2i),
        }
    if sim.shape[0] == sim.shape[1] and list(caption_image) == list(range(sim.shape[0])):
        # The same numbers through OpenCLIP's own formulation, as a cross-check of `index`.
        oc = open_clip_get_clip_metrics(sim)
        assert oc["image_to_text"] == entry["index"]["imageToText"], name
        assert oc["text_to_image"] == entry["index"]["textToImage"], name
    return entry


cases = [
    case("collapsed 10x10 (all zero)", torch.zeros(10, 10), range(10)),
    case("collapsed 20 images x 100 captions", torch.full((20, 100), 0.25), [t // 5 for t in range(100)]),
    case("quantised 12x12", torch.randint(0, 3, (12, 12)) / 2.0, range(12)),
    case("quantised 16x16", torch.randint(0, 5, (16, 16)) / 4.0, range(16)),
    case("quantised 8 images x 40 captions", torch.randint(0, 4, (8, 40)) / 3.0, [t // 5 for t in range(40)]),
    case(
        "captions listed out of image order",
        torch.randint(0, 3, (6, 18)) / 2.0,
        [int(v) for v in torch.randperm(18) % 6],
    ),
]
with open(OUT, "w") as f:
    json.dump({"generator": "scripts/make-retrieval-ties-fixtures.py", "cases": cases}, f, indent=1)
    f.write("\n")
print("wrote", OUT, [c["name"] for c in cases])
print("collapsed 10x10:", cases[0]["index"]["imageToText"], cases[0]["pessimistic"]["imageToText"])
