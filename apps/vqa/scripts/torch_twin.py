"""PyTorch twin of the VQA sample's recipe, to tell "the recipe cannot learn this yet" from "our
library has a bug": the same generated files (VQA v2 layout under data/sort-of-clevr), the same
word-level tokens, soft-score targets and model (ViT patches + question tokens, modality-type and
position embeddings, [CLS], pre-norm Transformer, MLP head), the same loss (BCE summed over
answers), AdamW with warmup + cosine, clipping at 1; accuracy = the soft score of the argmax answer.

    /usr/bin/python3 apps/vqa/scripts/torch_twin.py --train-images 1500 --steps 600

Needs Debian's python3-torch, python3-numpy and python3-pil; run `pnpm vqa` once first so that the
dataset exists (`--train-images 10000` needs `pnpm vqa --train-images 10000 ...` once).
"""
import argparse, collections, glob, json, math, re, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

p = argparse.ArgumentParser()
p.add_argument('--data', default='apps/vqa/data/sort-of-clevr')
p.add_argument('--train-images', type=int, default=1500)
p.add_argument('--val-images', type=int, default=200)
p.add_argument('--steps', type=int, default=600)
p.add_argument('--lr', type=float, default=2e-3)
p.add_argument('--layers', type=int, default=2)
p.add_argument('--dropout', type=float, default=0.1)
p.add_argument('--eval-every', type=int, default=200)
args = p.parse_args()
torch.manual_seed(1)
torch.set_num_threads(2)


def load(part, n, split):
    root = glob.glob(f'{args.data}/{part}-{n}-*')[0]
    questions = json.load(open(glob.glob(f'{root}/*questions*.json')[0]))['questions']
    annotations = json.load(open(glob.glob(f'{root}/*annotations*.json')[0]))['annotations']
    images, out = {}, []
    for q, a in zip(questions, annotations):
        i = q['image_id']
        if i not in images:
            pixels = np.asarray(Image.open(f'{root}/{split}/COCO_{split}_{i:012d}.png').convert('RGB'), np.float32)
            images[i] = (pixels / 255 - 0.5) / 0.5  # the sample's normalisation: mean = std = 0.5
        out.append((images[i], q['question'], [x['answer'] for x in a['answers']], a['question_type']))
    return out


train = load('train', args.train_images, 'train2014')
val = load('val', args.val_images, 'val2014')
words = lambda s: re.findall(r"\w+|[^\w\s]", s.lower())
vocab = {'[PAD]': 0, '[CLS]': 1, '[SEP]': 2, '[UNK]': 3}
for _, q, _, _ in train:
    for w in words(q):
        vocab.setdefault(w, len(vocab))
answers = sorted({a for e in train for a in e[2]})
answer_index = {a: i for i, a in enumerate(answers)}
length = 2 + max(len(words(q)) for _, q, _, _ in train)


def to_tensors(data):
    x = torch.tensor(np.stack([e[0] for e in data])).permute(0, 3, 1, 2).contiguous()
    ids = torch.zeros(len(data), length, dtype=torch.long)
    targets = torch.zeros(len(data), len(answers))
    for i, (_, q, given, _) in enumerate(data):
        t = [1] + [vocab.get(w, 3) for w in words(q)] + [2]
        ids[i, : len(t)] = torch.tensor(t)
        for a, n in collections.Counter(given).items():
            if a in answer_index:
                targets[i, answer_index[a]] = min(1, n / 3)  # the sample's soft scores
    return x, ids, targets


class Vilt(nn.Module):
    def __init__(self, d=64, patch=8, size=48):
        super().__init__()
        n = (size // patch) ** 2
        self.patches = nn.Conv2d(3, d, patch, patch)
        self.tokens = nn.Embedding(len(vocab), d, padding_idx=0)
        self.proj_image, self.proj_text = nn.Linear(d, d), nn.Linear(d, d)
        self.modality = nn.Parameter(torch.randn(2, d) * 0.02)
        self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.pos_image = nn.Parameter(torch.randn(n, d) * 0.02)
        self.pos_text = nn.Parameter(torch.randn(length, d) * 0.02)
        layer = nn.TransformerEncoderLayer(d, 4, 2 * d, args.dropout, 'gelu', batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, args.layers, norm=nn.LayerNorm(d))
        self.head = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, len(answers)))

    def forward(self, x, ids):
        image = self.proj_image(self.patches(x).flatten(2).transpose(1, 2)) + self.modality[0] + self.pos_image
        text = self.proj_text(self.tokens(ids)) + self.modality[1] + self.pos_text[: ids.shape[1]]
        seq = torch.cat([self.cls.expand(len(x), 1, -1), image, text], 1)
        pad = torch.cat([torch.zeros(len(x), 1 + image.shape[1], dtype=torch.bool), ids == 0], 1)
        return self.head(self.encoder(seq, src_key_padding_mask=pad)[:, 0])


xt, it, tt = to_tensors(train)
xv, iv, tv = to_tensors(val)
model = Vilt()
decay = [p for p in model.parameters() if p.ndim >= 2]
no_decay = [p for p in model.parameters() if p.ndim < 2]
opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.01}, {'params': no_decay, 'weight_decay': 0}], lr=args.lr)
warmup = 50
sched = torch.optim.lr_scheduler.LambdaLR(
    opt, lambda s: s / warmup if s < warmup else 0.5 * (1 + math.cos(math.pi * (s - warmup) / (args.steps - warmup)))
)


def evaluate():
    model.eval()
    with torch.no_grad():
        score = tv[torch.arange(len(val)), model(xv, iv).argmax(-1)]
    model.train()
    per_type = collections.defaultdict(list)
    for i, e in enumerate(val):
        per_type[e[3]].append(score[i].item())
    return score.mean().item(), {k: round(sum(v) / len(v), 3) for k, v in sorted(per_type.items())}


g = torch.Generator().manual_seed(1)
order, at, start = torch.randperm(len(train), generator=g), 0, time.time()
for step in range(1, args.steps + 1):
    if at + 64 > len(train):
        order, at = torch.randperm(len(train), generator=g), 0
    b = order[at : at + 64]
    at += 64
    loss = F.binary_cross_entropy_with_logits(model(xt[b], it[b]), tt[b]) * len(answers)
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    if step % args.eval_every == 0 or step == args.steps:
        acc, per_type = evaluate()
        print(f'step {step} loss {loss.item():.4f} accuracy {acc:.3f} {per_type} ({time.time() - start:.0f} s)', flush=True)
