"""Golden values for @polymodal/losses from PyTorch.

Run once from packages/losses (Debian's python3-torch):
    OMP_NUM_THREADS=1 /usr/bin/python3 scripts/make-fixtures.py
Writes fixtures/*.json; the tests read them (CI has no torch).

Reference implementations follow OpenCLIP's ClipLoss / SigLipLoss, big_vision's sigmoid loss,
torch.nn.functional.cross_entropy (label smoothing, ignore_index) and ViLT/MMF's VQA loss.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)  # goldens in float64; the TS side runs float32
OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures")
os.makedirs(OUT, exist_ok=True)


def tolist(t):
    return t.detach().tolist()


def dump(name, obj):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


# ---- CLIP / OpenCLIP ClipLoss -------------------------------------------------------------------
def clip_loss(img, txt, logit_scale, label_smoothing=0.0):
    img = F.normalize(img, dim=-1)
    txt = F.normalize(txt, dim=-1)
    scale = logit_scale.clamp(0, math.log(100)).exp()
    logits_per_image = scale * img @ txt.T
    logits_per_text = logits_per_image.T
    labels = torch.arange(img.shape[0])
    li = F.cross_entropy(logits_per_image, labels, label_smoothing=label_smoothing)
    lt = F.cross_entropy(logits_per_text, labels, label_smoothing=label_smoothing)
    return (li + lt) / 2, logits_per_image


clip_cases = []
for n, d, log_scale, ls in [(4, 8, math.log(1 / 0.07), 0.0), (5, 6, math.log(1 / 0.07), 0.1), (3, 4, math.log(200.0), 0.0), (2, 3, 1.0, 0.2)]:
    img = torch.randn(n, d)
    txt = torch.randn(n, d)
    img.requires_grad_(True)
    txt.requires_grad_(True)
    scale = torch.tensor(log_scale, requires_grad=True)
    loss, logits = clip_loss(img, txt, scale, ls)
    loss.backward()
    clip_cases.append(
        {
            "imageEmbeds": tolist(img),
            "textEmbeds": tolist(txt),
            "logitScale": log_scale,
            "labelSmoothing": ls,
            "loss": loss.item(),
            "logitsPerImage": tolist(logits),
            "gradImage": tolist(img.grad),
            "gradText": tolist(txt.grad),
            "gradLogitScale": scale.grad.item(),
        }
    )


# Duplicate mask: excluded columns are *deleted* from each row's softmax (an independent
# formulation of "not a negative"), label smoothing spread over the remaining columns.
def ce_rows_subset(logits, keep, eps):
    n = logits.shape[0]
    total = 0.0
    for i in range(n):
        cols = [j for j in range(n) if keep[i][j]]
        logp = F.log_softmax(logits[i, cols], dim=-1)
        pos = cols.index(i)
        total = total + (-(1 - eps) * logp[pos] - eps * logp.mean())
    return total / n


dup_cases = []
for n, eps in [(4, 0.0), (4, 0.1)]:
    img = torch.randn(n, 5)
    txt = torch.randn(n, 5)
    dup = [[False] * n for _ in range(n)]
    dup[0][1] = True  # text 1 also describes image 0
    dup[2][3] = dup[3][2] = True  # captions 2 and 3 are the same
    log_scale = math.log(1 / 0.07)
    scale = math.exp(log_scale)
    logits = scale * F.normalize(img, dim=-1) @ F.normalize(txt, dim=-1).T
    keep_i = [[i == j or not dup[i][j] for j in range(n)] for i in range(n)]
    keep_t = [[i == j or not dup[j][i] for j in range(n)] for i in range(n)]
    loss = (ce_rows_subset(logits, keep_i, eps) + ce_rows_subset(logits.T, keep_t, eps)) / 2
    dup_cases.append(
        {
            "imageEmbeds": tolist(img),
            "textEmbeds": tolist(txt),
            "logitScale": log_scale,
            "labelSmoothing": eps,
            "duplicateMask": dup,
            "loss": loss.item(),
        }
    )
dump("clip.json", {"cases": clip_cases, "duplicateCases": dup_cases})


# ---- SigLIP (big_vision / OpenCLIP SigLipLoss) --------------------------------------------------
def siglip_loss(img, txt, t_prime, b):
    img = F.normalize(img, dim=-1)
    txt = F.normalize(txt, dim=-1)
    logits = t_prime.exp() * img @ txt.T + b
    n = img.shape[0]
    labels = 2 * torch.eye(n) - 1
    return -F.logsigmoid(labels * logits).sum() / n, logits


siglip_cases = []
for n, d, t_prime, b in [(4, 8, math.log(10), -10.0), (5, 6, math.log(10), -2.0), (3, 4, 2.0, 0.5)]:
    img = torch.randn(n, d, requires_grad=True)
    txt = torch.randn(n, d, requires_grad=True)
    tp = torch.tensor(t_prime, requires_grad=True)
    bb = torch.tensor(b, requires_grad=True)
    loss, logits = siglip_loss(img, txt, tp, bb)
    loss.backward()
    siglip_cases.append(
        {
            "imageEmbeds": tolist(img),
            "textEmbeds": tolist(txt),
            "logitScale": t_prime,
            "logitBias": b,
            "loss": loss.item(),
            "logits": tolist(logits),
            "gradImage": tolist(img.grad),
            "gradLogitScale": tp.grad.item(),
            "gradLogitBias": bb.grad.item(),
        }
    )
dump("siglip.json", {"cases": siglip_cases})

# ---- cross-entropy with label smoothing and ignore_index (MLM, answer CE) ------------------------
ce_cases = []
for shape, ls in [((6, 7), 0.0), ((6, 7), 0.1), ((2, 4, 9), 0.0), ((2, 4, 9), 0.2)]:
    logits = torch.randn(*shape) * 2
    labels = torch.randint(0, shape[-1], shape[:-1])
    labels.view(-1)[::3] = -100  # every third position ignored, as in MLM
    flat = logits.reshape(-1, shape[-1])
    loss = F.cross_entropy(flat, labels.reshape(-1), ignore_index=-100, label_smoothing=ls)
    ce_cases.append({"logits": tolist(logits), "labels": tolist(labels), "labelSmoothing": ls, "loss": loss.item()})
dump("cross-entropy.json", {"cases": ce_cases})

# ---- BCE-with-logits × numAnswers (ViLT / MMF VQA loss) ------------------------------------------
bce_cases = []
for b, a in [(3, 10), (2, 5)]:
    logits = torch.randn(b, a) * 3
    targets = torch.randint(0, 4, (b, a)).double() / 3  # soft scores 0, 1/3, 2/3, 1
    loss = F.binary_cross_entropy_with_logits(logits, targets) * targets.shape[1]
    bce_cases.append({"logits": tolist(logits), "targets": tolist(targets), "loss": loss.item()})
dump("bce.json", {"cases": bce_cases})

# ---- Retrieval (VSE++ i2t / t2i, Faghri et al. 2018: 5 captions per image, argsort ranks) -------
def vsepp_ranks(sims, per_image):
    n_img = sims.shape[0]
    i2t = []
    for i in range(n_img):
        order = torch.argsort(sims[i], descending=True).tolist()
        i2t.append(min(order.index(t) for t in range(per_image * i, per_image * i + per_image)) + 1)
    t2i = []
    for t in range(sims.shape[1]):
        order = torch.argsort(sims[:, t], descending=True).tolist()
        t2i.append(order.index(t // per_image) + 1)
    return i2t, t2i


def summary(ranks):
    # VSE++ reports floor(median(0-based ranks)) + 1 and mean(0-based ranks) + 1.
    r0 = torch.tensor(ranks, dtype=torch.float64) - 1
    srt = torch.sort(r0).values
    n = len(ranks)
    median0 = srt[n // 2].item() if n % 2 else (srt[n // 2 - 1] + srt[n // 2]).item() / 2  # numpy's median

    def recall(k):
        return 100.0 * (r0 < k).double().mean().item()

    return {"r1": recall(1), "r5": recall(5), "r10": recall(10), "medianRank": math.floor(median0) + 1, "meanRank": r0.mean().item() + 1}


sims = torch.randn(20, 100) * 0.5
sims[torch.arange(100) // 5, torch.arange(100)] += 0.4  # make the true pairs likelier (continuous: no ties)
i2t, t2i = vsepp_ranks(sims, 5)
dump(
    "retrieval.json",
    {
        "similarity": tolist(sims),
        "captionImage": [t // 5 for t in range(100)],
        "imageToTextRanks": i2t,
        "textToImageRanks": t2i,
        "imageToText": summary(i2t),
        "textToImage": summary(t2i),
    },
)
print("wrote", sorted(os.listdir(OUT)))
