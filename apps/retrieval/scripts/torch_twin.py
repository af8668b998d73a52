"""PyTorch twin of the retrieval sample's recipe, to tell "the recipe cannot learn this" from "our
library has a bug": the same generated files (COCO captions + retrieval_groups json), the same
word-level tokens, the same model (by default: a BatchNorm conv stem whose cells carry x/y, a
Transformer over the cells, attention pooling by learned queries; a Transformer text tower read at
[CLS]; both projected; an ITM head = two-stream co-attention fusion as @polymodal/fusion's IntermediateFusion
with a 2-way output), the same losses (CLIP contrastive with learnable temperature, captions that
hold for another image in the batch kept out of its negatives; ITM on positives and hard negatives
drawn ∝ softmax of the contrastive similarities, ALBEF-style, labelled by whether the caption
really holds), AdamW with warmup + cosine, clipping at 1; and the same evaluation (Recall@K both
ways with captions that also hold elsewhere left out of the negatives, then ITM re-ranking of the
top k).

    /usr/bin/python3 apps/retrieval/scripts/torch_twin.py \
      --train apps/retrieval/data/retrieval/train-8000-48px-seed1 \
      --test apps/retrieval/data/retrieval/test-1000-48px-seed1 --steps 800 --eval-every 200 --rerank 16

Needs Debian's python3-torch, python3-numpy and python3-pil; run `pnpm retrieval train` once first
so that the datasets exist. `--itc-only`, `--batching random`, `--stem`, `--d` are the knobs of the
recipe search recorded in the app README, with --image-pool, --text-pool, --bn-layers, --mlm-weight
and --device (cuda, for sweeps on a GPU machine).

The exact comparison with the app (scripts/twin-compare.ts writes the files): `--replay <dir>` starts
from the app's initial weights, replays its batches and ITM pairs and compares losses, step-0
gradients and final weights (`--report` writes it as JSON; `--perturb 1e-7` is the control: how fast
a rounding-level difference grows within PyTorch); `--init <file> --batches <stream.json>` trains on
the app's initial weights and batch stream with this script's own ITM negatives; `--stop-after N`
stops a run of the `--steps` schedule early.

The ITM re-ranking search (app README, "ITM re-ranking"): `--load <state dict> --itm-only 1` trains
only the ITM head on frozen towers; `--mlp-itm 1` (MLP over [i, t, i*t, |i-t|]) and `--readout-itm 1`
(an MLP over the scene read-outs, the caption's colours looking up the image's rows) are the heads
tried; `--itm-neg gen|both` trains the ITM head on the generated false captions only or with them.
"""
import argparse, glob, json, math, re, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

p = argparse.ArgumentParser()
p.add_argument('--train', required=True, help='folder of the generated training set')
p.add_argument('--test', required=True, help='folder of the generated test set')
p.add_argument('--train-images', type=int, default=0, help='use the first N training images (0 = all)')
p.add_argument('--steps', type=int, default=600)
p.add_argument('--stop-after', type=int, default=0, help='stop after this many steps of the --steps schedule (0 = run it all; for short seed checks)')
p.add_argument('--groups-per-batch', type=int, default=8)
p.add_argument('--batching', default='random', choices=['groups', 'random', 'curriculum'], help='whole groups per batch, random images, or random images for the first --random-fraction of the steps and groups after')
p.add_argument('--random-fraction', type=float, default=0.5, help='curriculum: share of the steps with random batches')
p.add_argument('--itc-only', type=int, default=0)
p.add_argument('--lr', type=float, default=3e-3)
p.add_argument('--weight-decay', type=float, default=0.05)
p.add_argument('--warmup-ratio', type=float, default=0.1)
p.add_argument('--d', type=int, default=64)
p.add_argument('--patch', type=int, default=8)
p.add_argument('--stem', default='bn', choices=['patch', 'conv', 'conv2', 'bn'], help='patch embedding, or a 3×3 conv (--stem-channels) before it; bn: 3×3 conv + BatchNorm + ReLU layers (--bn-layers), cells with x/y coordinates projected to d')
p.add_argument('--bn-layers', default='32:2,64:2,64:2', help='channels:stride of each conv of the bn stem')
p.add_argument('--image-pool', default='attn', choices=['mean', 'attn'], help='image embedding: mean of the cell states, or --pool-queries learned queries attending to them, concatenated')
p.add_argument('--pool-queries', type=int, default=8)
p.add_argument('--text-pool', default='cls', choices=['mean', 'cls'], help='text embedding: masked mean of the token states, or the [CLS] state')
p.add_argument('--stem-channels', type=int, default=16)
p.add_argument('--embed', type=int, default=0, help='joint embedding width (0 = d)')
p.add_argument('--token-std', type=float, default=1.0, help='std of the token embedding init (1 = PyTorch default; CLIP uses 0.02)')
p.add_argument('--text-pos', default='learned', choices=['learned', 'sincos'])
p.add_argument('--image-layers', type=int, default=1)
p.add_argument('--text-layers', type=int, default=1)
p.add_argument('--heads', type=int, default=4)
p.add_argument('--ff', type=int, default=128)
p.add_argument('--dropout', type=float, default=0.0)
p.add_argument('--fusion-layers', type=int, default=1)
p.add_argument('--itm-weight', type=float, default=1.0)
p.add_argument('--mlm-weight', type=float, default=0.0, help='weight of masked-word prediction conditioned on the image (one content word per caption, read from the fusion\'s text stream)')
p.add_argument('--itm-all-pairs', type=int, default=0, help='ITM on every pair (1) or one caption per image (0)')
p.add_argument('--rerank', type=int, default=16)
p.add_argument('--eval-every', type=int, default=0)
p.add_argument('--threads', type=int, default=1)
p.add_argument('--device', default='cpu', help='cpu, or cuda for recipe sweeps on a GPU')
p.add_argument('--seed', type=int, default=1)
p.add_argument('--curve', default='', help='write the loss curve and evals as JSON here')
p.add_argument('--init', default='', help="start from these weights: a safetensors file in the app's names (scripts/twin-compare.ts writes one)")
p.add_argument('--replay', default='', help='folder written by scripts/twin-compare.ts: start from its init.safetensors, replay its batches and ITM pairs step by step, and compare losses, step-0 gradients and final weights with the app (implies --init; the recipe is taken from its batches.json)')
p.add_argument('--report', default='', help='--replay: write the comparison as JSON here')
p.add_argument('--batches', default='', help="train on these batches: a stream.json of image ids per step (scripts/twin-compare.ts --stream N) instead of this script's random draw (ITM negatives still drawn here)")
p.add_argument('--perturb', type=float, default=0.0, help='--replay control: multiply every initial weight by (1 + this × N(0, 1)), to see how fast a rounding-level difference grows on its own')
# Recipe search 2 (apps/retrieval/results/recipe-search-2.json); every default keeps the app's recipe.
p.add_argument('--caps-per-image', type=int, default=0, help='0 = the image\'s own two captions; K > 0: K captions per image per step drawn from every ordered object pair of its scene in a clear relation (generated from the scene annotations with the generator\'s template; truth in a batch from the scenes, leniently as captionHolds)')
p.add_argument('--neg-caps', type=int, default=0, help='per image and step, this many generated false captions (one attribute of the subject or object changed, or the relation swapped; checked false for the image) added as extra image→text negatives of the contrastive loss (NegCLIP-style)')
p.add_argument('--itm-gen-neg', type=int, default=0, help='1: one generated false caption per image as an extra ITM negative (needs --neg-caps ≥ 1)')
p.add_argument('--aux-weight', type=float, default=0.0, help='dense auxiliary loss: each cell of the image sequence predicts the kind (size, colour, shape; 36 + none) of the object whose centre lies in it, from the scene annotations (bn stem)')
p.add_argument('--train-eval', type=int, default=0, help='also evaluate on the first N training images (memorisation vs generalisation)')
p.add_argument('--rerank-evals', type=int, default=0, help='1: ITM re-ranking at every eval, not only the last')
p.add_argument('--film-itm', type=int, default=0, help='1: FiLM ITM head instead of the co-attention fusion: the caption\'s [CLS] state conditions --film-blocks residual conv blocks over the stem\'s feature map (as the VQA app\'s FiLM model)')
p.add_argument('--film-blocks', type=int, default=2)
p.add_argument('--aux-embed-weight', type=float, default=0.0, help='auxiliary losses on the joint embeddings (before L2 normalisation), from the scene annotations: a linear head reads from the image embedding, for each colour, whether it is present, its size, shape and x/y; another reads from the caption embedding its subject\'s and object\'s size, colour and shape and the relation (needs --caps-per-image)')
p.add_argument('--rerank-mix', type=float, default=0.0, help='also report re-ranking by ITM logit difference + this × the contrastive logit (scale × cosine) as rerankmix_* (0 = only the plain ITM re-ranking)')
p.add_argument('--save', default='', help='save the final state dict here (torch.save)')
# Re-ranking search (apps/retrieval README, "ITM re-ranking"): an ITM head on trained towers.
p.add_argument('--load', default='', help='start from this state dict (torch.save of --save); keys the model lacks or adds are reported and skipped')
p.add_argument('--mlp-itm', type=int, default=0, help='1: ITM head = MLP over [i, t, i*t, |i-t|] of the two L2-normalised joint embeddings (instead of the co-attention fusion)')
p.add_argument('--mlp-hidden', type=int, default=256)
p.add_argument('--readout-itm', type=int, default=0, help="1: ITM head over the two embeddings' scene read-outs (needs --aux-embed-weight): the caption read-out's subject and object colour distributions look up those colours' rows of the image read-out (present, size, shape, x/y); an MLP over them, their x/y offset and the caption's size/shape/relation distributions")
p.add_argument('--itm-only', type=int, default=0, help='1: train only the ITM head (every other weight frozen, towers in eval mode); the loss is the ITM loss alone')
p.add_argument('--itm-neg', default='hard', choices=['hard', 'gen', 'both'], help="ITM negatives: in-batch hard negatives drawn from the contrastive similarities (the app's), only the generated false captions (all --neg-caps of them), or both")
args = p.parse_args()
torch.manual_seed(args.seed)
torch.set_num_threads(args.threads)


def load(root):
    groups_file = glob.glob(f'{root}/retrieval_groups_*.json')[0]
    split = re.search(r'retrieval_groups_(.*)\.json', groups_file).group(1)
    groups = json.load(open(groups_file))['groups']
    images, captions, cap_image, holds, scenes = [], [], [], [], []
    group_of, image_ids, caption_ids = [], [], []
    for g in groups:
        for im in g['images']:
            i = im['image_id']
            px = np.asarray(Image.open(f'{root}/{split}/COCO_{split}_{i:012d}.png').convert('RGB'), np.float32)
            images.append((px / 255 - 0.5) / 0.5)
            group_of.append(g['group_id'])
            image_ids.append(i)
            load.meta.setdefault(root, {'kinds': [], 'scenes': []})
            load.meta[root]['kinds'].append(im['kind'])
            load.meta[root]['scenes'].append(im.get('scene'))
            for c in im['captions']:
                caption_ids.append(c['id'])
                captions.append(c['text'])
                cap_image.append(len(images) - 1)
                holds.append([h - 1 for h in c['holds_for']])  # image ids are 1-based, in order
    x = torch.tensor(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    load.ids[root] = (image_ids, caption_ids)
    return x, captions, torch.tensor(cap_image), holds, torch.tensor(group_of)


load.ids = {}
load.meta = {}
xt, ct, cit, ht, gt = load(args.train)
xv, cv, civ, hv, gv = load(args.test)
if args.replay:
    replay_data = json.load(open(f'{args.replay}/batches.json'))
    rc = replay_data['config']
    # The app's recipe, so that the schedule and the optimizer are the ones it ran.
    args.steps, args.lr, args.weight_decay, args.warmup_ratio = len(replay_data['steps']), rc['learningRate'], rc['weightDecay'], rc['warmupRatio']
    args.itm_weight, args.init = rc['itmWeight'], f'{args.replay}/init.safetensors'
    assert rc['steps'] == args.steps and rc['imagePool'] == 'attention' and rc['textPool'] == 'cls' and not args.itc_only
if args.train_images:
    keep = args.train_images
    xt, gt = xt[:keep], gt[:keep]
    sel = [k for k in range(len(ct)) if cit[k] < keep]
    ct, cit, ht = [ct[k] for k in sel], cit[sel], [[h for h in ht[k] if h < keep] for k in sel]

words = lambda s: re.findall(r"\w+|[^\w\s]", s.lower())
count = {}
for c in ct:
    for w in words(c):
        count[w] = count.get(w, 0) + 1
specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
vocab = {w: i for i, w in enumerate(specials + [w for w, _ in sorted(count.items(), key=lambda kv: (-kv[1], kv[0]))])}
length = 2 + max(len(words(c)) for c in ct + cv)


def ids_of(caps):
    out = torch.zeros(len(caps), length, dtype=torch.long)
    for i, c in enumerate(caps):
        t = [2] + [vocab.get(w, 1) for w in words(c)] + [3]
        out[i, : len(t)] = torch.tensor(t)
    return out


test_kinds = load.meta[args.test]['kinds']
train_scenes = load.meta[args.train]['scenes'][:len(xt)]
RELS = ['above', 'below', 'to the left of', 'to the right of']


def plausible(a, b, ratio=2):
    # relation-captions.ts plausibleRelations: a relative to b, y grows downwards.
    dx, dy, out = b['x'] - a['x'], b['y'] - a['y'], []
    if dy != 0 and ratio * abs(dy) > abs(dx):
        out.append('above' if dy > 0 else 'below')
    if dx != 0 and ratio * abs(dx) > abs(dy):
        out.append('to the left of' if dx > 0 else 'to the right of')
    return out


desc = lambda o: (o['size'], o['color'], o['shape'])
cap_text = lambda key: f"a {' '.join(key[0])} {key[1]} a {' '.join(key[2])}"
gen = None
if args.caps_per_image or args.neg_caps or args.aux_weight:
    # Scene facts: every (subject, relation, object) a viewer could read off each training image
    # (lenient, as captionHolds); the caption pool: ordered pairs in a clear relation.
    facts, pool_keys = [], []
    for sc in train_scenes:
        f, pk = set(), []
        for a in sc['objects']:
            for b in sc['objects']:
                if a is b:
                    continue
                rs = plausible(a, b)
                for r in rs:
                    f.add((desc(a), r, desc(b)))
                if len(rs) == 1:
                    pk.append((desc(a), rs[0], desc(b)))
        facts.append(f)
        pool_keys.append(pk)
    for k, c in enumerate(ct):  # the generator's captions are in the pools and hold by the facts
        assert any(cap_text(key) == c for key in pool_keys[cit[k]]), c
    gen_keys = [key for pk in pool_keys for key in pk]
    gen_img = torch.tensor([i for i, pk in enumerate(pool_keys) for _ in pk])
    gen_pool, at0 = [], 0
    for pk in pool_keys:
        gen_pool.append(list(range(at0, at0 + len(pk))))
        at0 += len(pk)
    gen_len = 2 + max(len(words(cap_text(k))) for k in gen_keys)
    assert gen_len <= length, (gen_len, length)
    SIZES = sorted({o['size'] for sc in train_scenes for o in sc['objects']})
    COLORS = sorted({o['color'] for sc in train_scenes for o in sc['objects']})
    SHAPES = sorted({o['shape'] for sc in train_scenes for o in sc['objects']})
    gen = True
    print(f'generated captions: {len(gen_keys)} clear ordered pairs over {len(train_scenes)} images '
          f'({len(gen_keys) / len(train_scenes):.1f} per image; {sum(len(f) for f in facts) / len(facts):.1f} lenient facts)', flush=True)
it_, iv = ids_of(ct), ids_of(cv)
if gen:
    gen_ids = ids_of([cap_text(k) for k in gen_keys])
# Words the MLM objective may hide: colours, shapes, sizes, relation words (not specials or 'a', 'the', 'of', 'to').
maskable = torch.tensor([i >= len(specials) and w not in ('a', 'the', 'of', 'to') for w, i in sorted(vocab.items(), key=lambda kv: kv[1])])
size = xt.shape[-1]
grid = size // args.patch


def sincos_2d(gh, gw, dim):
    def one(d, pos):
        half = d // 2
        omega = 1.0 / 10000 ** (torch.arange(half, dtype=torch.float64) / half)
        a = pos[:, None] * omega[None]
        return torch.cat([a.sin(), a.cos()], 1)
    rows, cols = torch.meshgrid(torch.arange(gh, dtype=torch.float64), torch.arange(gw, dtype=torch.float64), indexing='ij')
    return torch.cat([one(dim // 2, cols.flatten()), one(dim // 2, rows.flatten())], 1).float()


def encoder(layers):
    layer = nn.TransformerEncoderLayer(args.d, args.heads, args.ff, args.dropout, 'gelu', batch_first=True, norm_first=True)
    return nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(args.d), enable_nested_tensor=False)


def masked_mean(h, mask):
    m = mask.float().unsqueeze(-1)
    return (h * m).sum(1) / m.sum(1).clamp(min=1)


class CrossLayer(nn.Module):
    """@polymodal/attention CrossAttentionLayer, pre-norm: self-attention, cross-attention, FFN."""
    def __init__(self, d):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, args.heads, dropout=args.dropout, batch_first=True)
        self.multihead_attn = nn.MultiheadAttention(d, args.heads, dropout=args.dropout, batch_first=True)
        self.linear1, self.linear2 = nn.Linear(d, args.ff), nn.Linear(args.ff, d)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.drop = nn.Dropout(args.dropout)

    def forward(self, x, ctx, pad, ctx_pad):
        h = self.norm1(x)
        x = x + self.drop(self.self_attn(h, h, h, key_padding_mask=pad, need_weights=False)[0])
        h = self.norm2(x)
        x = x + self.drop(self.multihead_attn(h, ctx, ctx, key_padding_mask=ctx_pad, need_weights=False)[0])
        return x + self.drop(self.linear2(self.drop(F.gelu(self.linear1(self.norm3(x))))))


class Fusion(nn.Module):
    """IntermediateFusion(crossLayers = all): projections, co-attention streams, norms, head on pooled means."""
    def __init__(self, d, out):
        super().__init__()
        self.proj = nn.ModuleDict({m: nn.Linear(d, d) for m in ('image', 'text')})
        self.streams = nn.ModuleDict({m: nn.ModuleList([CrossLayer(d) for _ in range(args.fusion_layers)]) for m in ('image', 'text')})
        self.norms = nn.ModuleDict({m: nn.LayerNorm(d) for m in ('image', 'text')})
        self.head = nn.Linear(2 * d, out)

    def forward(self, image, text, text_mask):
        hi, ht = self.proj['image'](image), self.proj['text'](text)
        pad = ~text_mask
        for li, lt in zip(self.streams['image'], self.streams['text']):
            hi, ht = li(hi, ht, None, pad), lt(ht, hi, pad, None)
        si, st = self.norms['image'](hi), self.norms['text'](ht)
        self.text_states = st  # per-token outputs (the MLM head reads them)
        return self.head(torch.cat([si.mean(1), masked_mean(st, text_mask)], -1))


class FilmITM(nn.Module):
    """--film-itm: the caption's [CLS] state gives FiLM (γ, β) for residual conv blocks over the image
    tower's cells (as a d-channel grid, with x/y appended), then a 1×1 conv, max over cells, MLP → 2."""
    def __init__(self, d, side):
        super().__init__()
        assert side, '--film-itm needs the bn stem'
        self.side, self.d = side, d
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, side), torch.linspace(-1, 1, side), indexing='ij')
        self.register_buffer('xy', torch.stack([xs, ys])[None])
        self.film = nn.Linear(d, 2 * d * args.film_blocks)
        self.c1 = nn.ModuleList([nn.Conv2d(d + 2, d, 1) for _ in range(args.film_blocks)])
        self.c2 = nn.ModuleList([nn.Conv2d(d, d, 3, 1, 1, bias=False) for _ in range(args.film_blocks)])
        self.bn = nn.ModuleList([nn.BatchNorm2d(d, affine=False) for _ in range(args.film_blocks)])
        self.pre = nn.Conv2d(d + 2, d, 1)
        self.out = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 2))

    def forward(self, image, text, text_mask):
        n = image.shape[0]
        x = image.transpose(1, 2).reshape(n, self.d, self.side, self.side)
        gb = self.film(text[:, 0]).view(n, -1, 2, self.d)
        xy = self.xy.expand(n, -1, -1, -1)
        for k in range(len(self.c1)):
            h = F.relu(self.c1[k](torch.cat([x, xy], 1)))
            g, b = gb[:, k, 0, :, None, None], gb[:, k, 1, :, None, None]
            x = h + F.relu((1 + g) * self.bn[k](self.c2[k](h)) + b)
        return self.out(F.relu(self.pre(torch.cat([x, xy], 1))).amax((2, 3)))


class MlpITM(nn.Module):
    """--mlp-itm: match logits from the two normalised joint embeddings, MLP([i, t, i*t, |i-t|]) → 2
    (itm_logits computes the embeddings from the sequences)."""
    def __init__(self, e):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4 * e, args.mlp_hidden), nn.ReLU(), nn.Linear(args.mlp_hidden, args.mlp_hidden), nn.ReLU(), nn.Linear(args.mlp_hidden, 2))

    def forward(self, i, t):
        return self.net(torch.cat([i, t, i * t, (i - t).abs()], -1))


class ReadoutITM(nn.Module):
    """--readout-itm: match logits from the read-outs (image [B, 6, 8] per colour: present, size ×2,
    shape ×3, x, y; caption [B, 26]): the caption's subject / object colour distributions pick the
    image's rows for those colours; an MLP decides from them, their x/y offset and the caption's parse."""
    def __init__(self):
        super().__init__()
        h = args.mlp_hidden
        self.net = nn.Sequential(nn.Linear(8 + 8 + 2 + 14, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, 2))

    def forward(self, img, txt):
        feat = torch.cat([torch.sigmoid(img[..., 0:1]), F.softmax(img[..., 1:3], -1), F.softmax(img[..., 3:6], -1), img[..., 6:8]], -1)
        fs = (F.softmax(txt[:, 2:8], -1)[..., None] * feat).sum(1)
        fo = (F.softmax(txt[:, 13:19], -1)[..., None] * feat).sum(1)
        cap = torch.cat([F.softmax(txt[:, a:b], -1) for a, b in ((0, 2), (8, 11), (11, 13), (19, 22), (22, 26))], -1)
        return self.net(torch.cat([fs, fo, fo[:, 6:8] - fs[:, 6:8], cap], -1))


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        d = args.d
        self.cells = None
        if args.stem == 'bn':
            mods, c_in, side = [], 3, size
            for spec in args.bn_layers.split(','):
                c, stride = (int(v) for v in spec.split(':'))
                mods += [nn.Conv2d(c_in, c, 3, stride, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
                c_in, side = c, (side + 2 - 3) // stride + 1
            self.stem = nn.Sequential(*mods)
            self.patches = nn.Linear(c_in + 2, d)  # cells + x, y → d
            self.cells = side
        elif args.stem == 'conv2':
            c = args.stem_channels
            self.stem = nn.Sequential(nn.Conv2d(3, c, 3, 1, 1), nn.GELU(), nn.Conv2d(c, 2 * c, 3, 2, 1), nn.GELU())
            self.patches = nn.Conv2d(2 * c, d, args.patch // 2, args.patch // 2)
        elif args.stem == 'conv':
            self.stem = nn.Sequential(nn.Conv2d(3, args.stem_channels, 3, 1, 1), nn.GELU())
            self.patches = nn.Conv2d(args.stem_channels, d, args.patch, args.patch)
        else:
            self.stem = nn.Identity()
            self.patches = nn.Conv2d(3, d, args.patch, args.patch)
        if self.cells:
            ys, xs = torch.meshgrid(torch.linspace(-1, 1, self.cells), torch.linspace(-1, 1, self.cells), indexing='ij')
            self.register_buffer('coords', torch.stack([xs, ys]).flatten(1).T.contiguous())  # [h·w, 2]: x, y as addCoordChannels
        else:
            self.register_buffer('pos_image', sincos_2d(grid, grid, d))
        self.image_encoder = encoder(args.image_layers)
        e = args.embed or d
        if args.image_pool == 'attn':
            self.pool_queries = nn.Parameter(torch.randn(args.pool_queries, d) * 0.02)
            self.pool_attn = nn.MultiheadAttention(d, args.heads, batch_first=True)
            self.image_proj = nn.Linear(args.pool_queries * d, e)
        else:
            self.image_proj = nn.Linear(d, e)
        self.tokens = nn.Embedding(len(vocab), d, padding_idx=0)
        nn.init.normal_(self.tokens.weight, std=args.token_std)
        with torch.no_grad():
            self.tokens.weight[0].zero_()
        if args.text_pos == 'learned':
            self.pos_text = nn.Parameter(torch.nn.init.trunc_normal_(torch.empty(length, d), std=0.02, a=-0.04, b=0.04))
        else:
            pe = torch.zeros(length, d)
            pos = torch.arange(length, dtype=torch.float64)[:, None]
            ang = pos / 10000 ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
            pe[:, 0::2], pe[:, 1::2] = ang.sin().float(), ang.cos().float()
            self.register_buffer('pos_text', pe)
        self.text_encoder = encoder(args.text_layers)
        self.text_proj = nn.Linear(d, e)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.itm = FilmITM(d, self.cells) if args.film_itm else MlpITM(args.embed or d) if args.mlp_itm else ReadoutITM() if args.readout_itm else Fusion(d, 2)
        if args.aux_weight:
            self.aux_head = nn.Linear(d, 37)  # per cell: none, or size × colour × shape
        if args.aux_embed_weight:
            self.aux_img = nn.Linear(e, 6 * 8)  # per colour: present, size (2), shape (3), x, y
            self.aux_txt = nn.Linear(e, 2 * (2 + 6 + 3) + 4)  # subject / object size, colour, shape; relation
        if args.mlm_weight:
            self.mlm_head = nn.Linear(d, len(vocab))

    def image_seq(self, x):
        if self.cells:
            f = self.stem(x).flatten(2).transpose(1, 2)
            return self.image_encoder(self.patches(torch.cat([f, self.coords.expand(f.shape[0], -1, -1)], -1)))
        return self.image_encoder(self.patches(self.stem(x)).flatten(2).transpose(1, 2) + self.pos_image)

    def text_seq(self, ids, mask=None):
        mask = ids != 0 if mask is None else mask
        return self.text_encoder(self.tokens(ids) + self.pos_text[: ids.shape[1]], src_key_padding_mask=~mask), mask

    def embed_image(self, seq):
        if args.image_pool == 'attn':
            q = self.pool_queries.expand(seq.shape[0], -1, -1)
            return self.image_proj(self.pool_attn(q, seq, seq, need_weights=False)[0].flatten(1))
        return self.image_proj(seq.mean(1))

    def embed_text(self, seq, mask):
        return self.text_proj(seq[:, 0] if args.text_pool == 'cls' else masked_mean(seq, mask))


def read_safetensors(path):
    """A safetensors file → {name: tensor} (F32, I32, I64, U8, BOOL; enough for the app's files)."""
    raw = open(path, 'rb').read()
    n = int.from_bytes(raw[:8], 'little')
    header = json.loads(raw[8:8 + n])
    kinds = {'F32': np.float32, 'I32': np.int32, 'I64': np.int64, 'U8': np.uint8, 'BOOL': np.bool_}
    out = {}
    for name, h in header.items():
        if name == '__metadata__':
            continue
        a, b = h['data_offsets']
        out[name] = torch.from_numpy(np.frombuffer(raw[8 + n + a:8 + n + b], kinds[h['dtype']]).copy().reshape(h['shape']))
    return out


# The app's parameter names (RetrievalModel's stateDict) → this model's.
APP_NAMES = [('image.stem.convs.', 'stem.'), ('image.stem.project.', 'patches.'), ('image.encoder.', 'image_encoder.'),
             ('image.pool.queries', 'pool_queries'), ('image.pool.attention.', 'pool_attn.'), ('image.pool.projection.', 'image_proj.'),
             ('text.tokens.', 'tokens.'), ('text.positions.weight', 'pos_text'), ('text.encoder.', 'text_encoder.'),
             ('text.projection.', 'text_proj.'), ('itm.projections.', 'itm.proj.'), ('itc.logitScale', 'logit_scale')]


def twin_name(app_name):
    for a, t in APP_NAMES:
        if app_name.startswith(a):
            return t + app_name[len(a):]
    return app_name


def load_app_weights(model, path):
    """Loads an app state dict (its vocabulary size and caption length win) into the twin."""
    sd = {twin_name(k): v for k, v in read_safetensors(path).items()}
    model.tokens = nn.Embedding(*sd['tokens.weight'].shape, padding_idx=0)
    model.pos_text = nn.Parameter(torch.empty(sd['pos_text'].shape))
    own = model.state_dict()
    sd = {k: v.to(own[k].dtype).reshape(own[k].shape) for k, v in sd.items()}
    if args.perturb:
        noise = torch.Generator().manual_seed(12345)
        sd = {k: v * (1 + args.perturb * torch.randn(v.shape, generator=noise)) if v.is_floating_point() else v for k, v in sd.items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected and all(m in ('coords', 'pos_image') for m in missing), (missing, unexpected)


dev = torch.device(args.device)
model = Model()
if args.init:
    load_app_weights(model, args.init)
model = model.to(dev)
xt, xv, it_, iv = xt.to(dev), xv.to(dev), it_.to(dev), iv.to(dev)
maskable = maskable.to(dev)
print(f'{sum(p.numel() for p in model.parameters()):,} parameters, {len(xt)} train images, {len(ct)} train captions', flush=True)
if args.load:
    own_sd = model.state_dict()
    loaded = {k: v for k, v in torch.load(args.load, map_location=dev).items() if k in own_sd and own_sd[k].shape == v.shape}
    missing, _ = model.load_state_dict(loaded, strict=False)
    print(f'loaded {len(loaded)} tensors from {args.load}; left at their initial values: {sorted(missing)}', flush=True)
if args.itm_only:
    for p_ in model.parameters():
        p_.requires_grad_(False)
    for p_ in model.itm.parameters():
        p_.requires_grad_(True)


def set_train_mode():
    # --itm-only: the frozen towers stay in eval mode (BatchNorm running statistics untouched).
    model.train()
    if args.itm_only:
        model.eval()
        model.itm.train()


trainable = [p_ for p_ in model.parameters() if p_.requires_grad]
decay = [p for p in trainable if p.ndim >= 2]
no_decay = [p for p in trainable if p.ndim < 2]
opt = torch.optim.AdamW([{'params': decay, 'weight_decay': args.weight_decay}, {'params': no_decay, 'weight_decay': 0}], lr=args.lr)
warmup = min(round(args.warmup_ratio * args.steps), args.steps - 1)
sched = torch.optim.lr_scheduler.LambdaLR(
    opt, lambda s: s / max(1, warmup) if s < warmup else 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, args.steps - warmup)))
)

# Training groups: each batch holds whole groups (an original and its distractors: in-batch hard negatives).
group_ids = sorted(set(gt.tolist()))
images_of_group = {g: (gt == g).nonzero().flatten() for g in group_ids}
caps_of_image = [[] for _ in range(len(xt))]
for k, i in enumerate(cit.tolist()):
    caps_of_image[i].append(k)
holds_sets = [set(h) for h in ht]


def truth(img_idx, cap_idx):
    """[len(img), len(cap)] bool: caption holds for image (own image, or by chance another)."""
    return torch.tensor([[int(i) in holds_sets[c] for c in cap_idx.tolist()] for i in img_idx.tolist()])


if gen:
    def gen_truth(img_idx, cap_idx):
        return torch.tensor([[gen_keys[c] in facts[i] for c in cap_idx.tolist()] for i in img_idx.tolist()])

    tok_cache = {}

    def tokens_of(key):
        if key not in tok_cache:
            tok_cache[key] = ids_of([cap_text(key)])[0]
        return tok_cache[key]

    def false_caption(i, gen_rng):
        """A caption false for image i: one of its clear-pair captions with one attribute of the subject
        or the object changed, or subject and object swapped (the relation reversed)."""
        for _ in range(20):
            s_, r_, o_ = pool_keys[i][int(torch.randint(len(pool_keys[i]), (1,), generator=gen_rng))]
            how = int(torch.randint(7, (1,), generator=gen_rng))
            if how == 6:
                key = (o_, r_, s_)
            else:
                which, att = divmod(how, 3)
                vals = (SIZES, COLORS, SHAPES)[att]
                obj = list((s_, o_)[which])
                obj[att] = [v for v in vals if v != obj[att]][int(torch.randint(len(vals) - 1, (1,), generator=gen_rng))]
                key = (tuple(obj), r_, o_) if which == 0 else (s_, r_, tuple(obj))
            if key not in facts[i]:
                return key
        return None
    if args.aux_weight:
        side = model.cells
        cell_labels = torch.zeros(len(train_scenes), side * side, dtype=torch.long)
        for i, sc in enumerate(train_scenes):
            for o in sc['objects']:
                cy, cx = min(side - 1, o['y'] * side // size), min(side - 1, o['x'] * side // size)
                cell_labels[i, cy * side + cx] = 1 + SIZES.index(o['size']) * 18 + COLORS.index(o['color']) * 3 + SHAPES.index(o['shape'])
        cell_labels = cell_labels.to(dev)
        print('cell labels: objects per image', (cell_labels > 0).sum(1).float().mean().item(), 'of', sum(len(sc['objects']) for sc in train_scenes) / len(train_scenes), flush=True)
    if args.aux_embed_weight:
        assert args.caps_per_image, '--aux-embed-weight needs --caps-per-image'
        assert len(COLORS) == 6 and len(SIZES) == 2 and len(SHAPES) == 3
        img_present = torch.zeros(len(train_scenes), 6)
        img_size = torch.full((len(train_scenes), 6), -100, dtype=torch.long)
        img_shape = torch.full((len(train_scenes), 6), -100, dtype=torch.long)
        img_xy = torch.zeros(len(train_scenes), 6, 2)
        for i, sc in enumerate(train_scenes):
            for o in sc['objects']:
                c_ = COLORS.index(o['color'])
                img_present[i, c_] = 1
                img_size[i, c_], img_shape[i, c_] = SIZES.index(o['size']), SHAPES.index(o['shape'])
                img_xy[i, c_] = torch.tensor([o['x'], o['y']]) / (size - 1) * 2 - 1
        cap_target = torch.tensor([[SIZES.index(k[0][0]), COLORS.index(k[0][1]), SHAPES.index(k[0][2]), RELS.index(k[1]),
                                    SIZES.index(k[2][0]), COLORS.index(k[2][1]), SHAPES.index(k[2][2])] for k in gen_keys])
        img_present, img_size, img_shape, img_xy, cap_target = (t.to(dev) for t in (img_present, img_size, img_shape, img_xy, cap_target))


    def aux_embed_loss(ie_raw, te_raw, imgs, caps):
        """--aux-embed-weight: the scene read back from the image embedding, the caption's parse from its embedding."""
        o = model.aux_img(ie_raw).view(-1, 6, 8)
        pres, sz, sh, xy = img_present[imgs], img_size[imgs], img_shape[imgs], img_xy[imgs]
        li = (F.binary_cross_entropy_with_logits(o[..., 0], pres) + F.cross_entropy(o[..., 1:3].reshape(-1, 2), sz.reshape(-1), ignore_index=-100)
              + F.cross_entropy(o[..., 3:6].reshape(-1, 3), sh.reshape(-1), ignore_index=-100)
              + ((o[..., 6:8] - xy) ** 2).sum(-1).mul(pres).sum() / pres.sum().clamp(min=1))
        t = model.aux_txt(te_raw)
        tg = cap_target[caps]
        cuts = [(0, 2), (2, 8), (8, 11), (22, 26), (11, 13), (13, 19), (19, 22)]  # subj size/colour/shape, relation, obj size/colour/shape
        lt = sum(F.cross_entropy(t[:, a:b], tg[:, k]) for k, (a, b) in enumerate(cuts)) / len(cuts)
        with torch.no_grad():
            acc = {'img_present': ((o[..., 0] > 0).float() == pres).float().mean().item(),
                   'img_xy_err': (((o[..., 6:8] - xy).abs().sum(-1) * pres).sum() / pres.sum()).item() / 2,
                   'txt': float(np.mean([(t[:, a:b].argmax(1) == tg[:, k]).float().mean().item() for k, (a, b) in enumerate(cuts)]))}
        return li + lt, acc
CIT = gen_img if args.caps_per_image else cit
IDS = gen_ids.to(dev) if args.caps_per_image else it_
TRUTH = gen_truth if args.caps_per_image else truth
HOLDS = (lambda i, c: gen_keys[c] in facts[i]) if args.caps_per_image else (lambda i, c: i in holds_sets[c])


train_split = None
if args.train_eval:
    n_te = args.train_eval
    sel_te = [k for k in range(len(ct)) if cit[k] < n_te]
    train_split = (xt[:n_te], it_[torch.tensor(sel_te).to(dev)], [ct[k] for k in sel_te], [[h for h in ht[k] if h < n_te] for k in sel_te],
                   cit[sel_te], load.meta[args.train]['kinds'][:n_te])


def add_train_eval(res, rk=0):
    # --train-eval: the same metrics on the first N training images (seen in training).
    if train_split is not None:
        res.update({'train_' + k: v for k, v in evaluate(0, train_split).items() if k != 'train_seconds'})  # ITC only (re-ranking costs minutes)


def stats():
    # Means over the last 20 steps: in-batch accuracy (caption → an image it holds for; image → its own caption), aux accuracy.
    out = f" acc t2i {np.mean(curve['acc_t2i'][-20:]):.3f} i2t {np.mean(curve['acc_i2t'][-20:]):.3f}"
    if curve.get('aux_acc'):
        out += ' aux ' + ' '.join(f'{k} {np.mean([a[k] for a in curve["aux_acc"][-20:]]):.2f}' for k in ('kind', 'size', 'color', 'shape'))
    if curve.get('aux_embed_acc'):
        out += ' emb ' + ' '.join(f'{k} {np.mean([a[k] for a in curve["aux_embed_acc"][-20:]]):.2f}' for k in ('img_present', 'img_xy_err', 'txt'))
    return out


def itm_logits(img_seq, txt_seq, txt_mask):
    if args.readout_itm:
        img = model.aux_img(model.embed_image(img_seq)).view(-1, 6, 8)
        return model.itm(img, model.aux_txt(model.embed_text(txt_seq, txt_mask)))
    if args.mlp_itm:
        return model.itm(F.normalize(model.embed_image(img_seq), dim=-1), F.normalize(model.embed_text(txt_seq, txt_mask), dim=-1))
    return model.itm(img_seq, txt_seq, txt_mask)


eval_seconds = 0.0


def evaluate(rerank_k, split=None):
    """Recall@K on the test set, or on split = (images, token ids, captions, holds, caption image, kinds) (--train-eval)."""
    xv, iv, cv, hv, civ, kinds = split or (globals()['xv'], globals()['iv'], globals()['cv'], globals()['hv'], globals()['civ'], test_kinds)
    global eval_seconds
    eval_start = time.time()
    model.eval()
    with torch.no_grad():
        iseq = torch.cat([model.image_seq(xv[i:i + 200]) for i in range(0, len(xv), 200)])
        tseqs, tmasks = zip(*[model.text_seq(iv[i:i + 500]) for i in range(0, len(iv), 500)])
        tseq, tmask = torch.cat(tseqs), torch.cat(tmasks)
        ie = F.normalize(model.embed_image(iseq), dim=-1)
        te = F.normalize(model.embed_text(tseq, tmask), dim=-1)
        sim = (ie @ te.T).cpu()  # [I, T]
        # Captions that also hold for another image are right answers there: not negatives.
        other = torch.zeros_like(sim, dtype=torch.bool)
        for t, hs in enumerate(hv):
            for i in hs:
                if i != civ[t]:
                    other[i, t] = True
        masked = sim.masked_fill(other, float('-inf'))
        res = {}
        res.update(metrics(masked, 'itc', civ, kinds))
        if rerank_k:
            scale_now = model.logit_scale.clamp(0, math.log(100)).exp().item()
            for name, mix in [('rerank', 0.0)] + ([('rerankmix', args.rerank_mix)] if args.rerank_mix else []):
                # Re-rank the top k of each query by the ITM match logit (difference of the two logits).
                rr = masked.clone()
                k = rerank_k
                top_i = masked.topk(k, dim=0).indices  # [k, T] images per caption
                for t0 in range(0, len(cv), 250):
                    ts = torch.arange(t0, min(len(cv), t0 + 250))
                    ii = top_i[:, ts].T.reshape(-1)
                    tt = ts.repeat_interleave(k)
                    lg = itm_logits(iseq[ii.to(dev)], tseq[tt.to(dev)], tmask[tt.to(dev)]).cpu()
                    score = lg[:, 1] - lg[:, 0] + (mix * scale_now * masked[ii, tt] if mix else 0)
                    col = torch.full((len(xv), len(ts)), float('-inf'))
                    col.scatter_(0, top_i[:, ts], (score.view(len(ts), k).T + 1000))
                    # outside the top k: keep ITC order below the re-ranked ones
                    base = masked[:, ts].clone()
                    base[top_i[:, ts], torch.arange(len(ts)).repeat(k, 1)] = float('-inf')
                    rr[:, ts] = torch.maximum(col, base.masked_fill(other[:, ts], float('-inf')))
                res.update({k2: v for k2, v in metrics(rr, name, civ, kinds).items() if k2.startswith(name + '_t2i')})
                top_t = masked.topk(k, dim=1).indices  # [I, k] captions per image
                rr2 = masked.clone()
                for i0 in range(0, len(xv), 250):
                    is_ = torch.arange(i0, min(len(xv), i0 + 250))
                    tt = top_t[is_].reshape(-1)
                    ii = is_.repeat_interleave(k)
                    lg = itm_logits(iseq[ii.to(dev)], tseq[tt.to(dev)], tmask[tt.to(dev)]).cpu()
                    score = (lg[:, 1] - lg[:, 0] + (mix * scale_now * masked[ii, tt] if mix else 0)).view(len(is_), k) + 1000
                    base = masked[is_].clone()
                    base.scatter_(1, top_t[is_], float('-inf'))
                    row = torch.full_like(base, float('-inf'))
                    row.scatter_(1, top_t[is_], score)
                    rr2[is_] = torch.maximum(row, base)
                res.update({k2: v for k2, v in metrics(rr2, name, civ, kinds).items() if k2.startswith(name + '_i2t')})
    set_train_mode()
    eval_seconds += time.time() - eval_start
    res['train_seconds'] = round(time.time() - start - eval_seconds, 1)
    return res


def metrics(sim, name, civ=None, kinds=None):
    civ = globals()['civ'] if civ is None else civ
    # text→image: rank of the caption's image among images (pessimistic ties: >=, minus itself).
    target = sim[civ, torch.arange(sim.shape[1])]
    t2i = (sim > target[None]).sum(0) + 1
    # image→text: best rank among the image's own captions.
    own = torch.zeros_like(sim, dtype=torch.bool)
    own[civ, torch.arange(sim.shape[1])] = True
    best = sim.masked_fill(~own, float('-inf')).max(1).values
    i2t = (sim > best[:, None]).sum(1) + 1
    out = {}
    for d, r in (('t2i', t2i), ('i2t', i2t)):
        for k in (1, 5, 10):
            out[f'{name}_{d}_r{k}'] = round(100 * (r <= k).float().mean().item(), 1)
        if kinds is not None and d == 't2i':
            # R@1 by the kind of the caption's own image (original, subject, object, relation).
            kc = [kinds[i] for i in civ.tolist()]
            for kind in sorted(set(kc)):
                sel = torch.tensor([x == kind for x in kc])
                out[f'{name}_t2i_r1_{kind}'] = round(100 * (r[sel] <= 1).float().mean().item(), 1)
    return out


def replay():
    """--replay: the app's batches and ITM pairs, step by step; compares losses, step-0 gradients and final weights."""
    steps = replay_data['steps']
    img_index = {i: k for k, i in enumerate(load.ids[args.train][0])}
    cap_index = {c: k for k, c in enumerate(load.ids[args.train][1])}
    app_vocab = {w: k for k, w in enumerate(replay_data['vocab'])}
    rel = lambda a, b: ((a - b).abs().max() / b.abs().max().clamp(min=1e-30)).item()
    report = {'steps': len(steps), 'checks': {}, 'track': []}
    grads0 = {twin_name(k): v for k, v in read_safetensors(f'{args.replay}/grads0.safetensors').items()}
    for s, r in enumerate(steps, 1):
        imgs = torch.tensor([img_index[i] for i in r['imageIds']])
        caps = torch.tensor([cap_index[c] for c in r['captionIds']])
        ids, mask = torch.tensor(r['inputIds'], dtype=torch.long), torch.tensor(r['textMask'], dtype=torch.bool)
        rows = torch.tensor(r['captionImage'])
        holds = torch.tensor(r['holds'])  # [T, I]: caption t holds for batch image i
        if s == 1:
            # The data pipelines: this script's pixels, tokens (through the app's vocabulary) and truth.
            px = read_safetensors(f'{args.replay}/pixels0.safetensors')['pixels']
            own_ids = torch.zeros_like(ids)
            for t, k in enumerate(caps.tolist()):
                tok = [app_vocab['[CLS]']] + [app_vocab.get(w, app_vocab['[UNK]']) for w in words(ct[k])] + [app_vocab['[SEP]']]
                own_ids[t, :len(tok)] = torch.tensor(tok)
            report['checks'] = {
                'pixels_max_abs_diff': (xt[imgs] - px).abs().max().item(),
                'token_ids_equal': bool(torch.equal(own_ids, ids)),
                'mask_equal': bool(torch.equal(own_ids != 0, mask)),
                'caption_rows_equal': bool(torch.equal(cit[caps], imgs[rows])),
                'truth_equal': bool(torch.equal(truth(imgs, caps).T, holds)),
            }
            print('data checks', json.dumps(report['checks']), flush=True)
        lr = opt.param_groups[0]['lr']
        iseq = model.image_seq(xt[imgs.to(dev)])
        tseq, tmask = model.text_seq(ids.to(dev), mask.to(dev))
        ie = F.normalize(model.embed_image(iseq), dim=-1)[rows.to(dev)]
        te = F.normalize(model.embed_text(tseq, tmask), dim=-1)
        scale = model.logit_scale.clamp(0, math.log(100)).exp()
        logits = scale * ie @ te.T
        n = len(caps)
        dup = (holds[:, rows].T & ~torch.eye(n, dtype=torch.bool)).to(dev)  # [i, j]: caption j holds for pair i's image
        target = torch.arange(n, device=dev)
        itc = 0.5 * (F.cross_entropy(logits.masked_fill(dup, float('-inf')), target) + F.cross_entropy(logits.T.masked_fill(dup.T, float('-inf')), target))
        pairs = r['itmPairs']
        pi, pt = torch.tensor(pairs['imageRows'], device=dev), torch.tensor(pairs['textRows'], device=dev)
        itm = F.cross_entropy(itm_logits(iseq[pi], tseq[pt], tmask[pt]), torch.tensor(pairs['labels'], device=dev))
        loss = itc + args.itm_weight * itm
        opt.zero_grad()
        loss.backward()
        if s == 1:
            named = dict(model.named_parameters())
            diffs = {name: rel(grads0[name].reshape(named[name].shape), named[name].grad) for name in grads0}
            assert set(grads0) == set(named), set(named) ^ set(grads0)
            report['step0'] = {
                'app': replay_data['step0'],
                'torch': {'itc': itc.item(), 'itm': itm.item(), 'total': loss.item()},
                'grad_max_rel_diff': max(diffs.values()),
                'grad_worst': sorted(diffs.items(), key=lambda kv: -kv[1])[:5],
                'grad_rel_diff': diffs,
            }
            print('step 0 app', json.dumps(replay_data['step0']), 'torch', json.dumps(report['step0']['torch']), flush=True)
            print('step 0 gradients: max rel diff', f"{report['step0']['grad_max_rel_diff']:.3g}", 'worst', report['step0']['grad_worst'], flush=True)
        norm = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        row = {'step': s, 'app': {'itc': r['itc'], 'itm': r['itm'], 'grad_norm': r.get('gradNorm'), 'lr': r['lr']},
               'torch': {'itc': itc.item(), 'itm': itm.item(), 'grad_norm': norm.item(), 'lr': lr}}
        report['track'].append(row)
        print(f"step {s}: itc {r['itc']:.5f} / {itc.item():.5f}  itm {r['itm']:.5f} / {itm.item():.5f}  |g| {r.get('gradNorm') or 0:.4f} / {norm.item():.4f}  lr {r['lr']:.3g} / {lr:.3g}  (app / torch)", flush=True)
    final = {twin_name(k): v for k, v in read_safetensors(f'{args.replay}/final.safetensors').items()}
    own = model.state_dict()
    report['final_rel_diff'] = {k: rel(v.to(own[k].dtype).reshape(own[k].shape).float(), own[k].float()) for k, v in final.items()}
    report['final_max_rel_diff'] = max(report['final_rel_diff'].values())
    # Attention's key bias has a gradient of exactly 0 (it adds q·b_k to every logit of a row); what
    # both sides compute there is rounding noise, which Adam scales up to steps of about lr: compare
    # the rest of each in_proj_bias separately.
    qv = {}
    for k, v in final.items():
        if k.endswith('in_proj_bias'):
            d = v.numel() // 3
            keep = torch.cat([torch.arange(d), torch.arange(2 * d, 3 * d)])
            qv[k] = rel(v.float()[keep], own[k].float()[keep])
    report['final_in_proj_bias_without_key_rel_diff'] = qv
    report['final_max_rel_diff_without_key_bias'] = max([v for k, v in report['final_rel_diff'].items() if k not in qv] + list(qv.values()))
    print('without the key biases: max rel diff', f"{report['final_max_rel_diff_without_key_bias']:.3g}", flush=True)
    # This script's own initialisation next to the app's (the std of every tensor): a recipe
    # difference that the replay, started from the app's weights, does not show.
    init = {twin_name(k): v for k, v in read_safetensors(f'{args.replay}/init.safetensors').items()}
    fresh = dict(Model().named_parameters())
    report['init_std'] = {k: {'app': init[k].float().std().item(), 'torch': fresh[k].detach().std().item()}
                          for k in fresh if k in init and init[k].numel() > 1}
    far = {k: v for k, v in report['init_std'].items() if not 0.8 < (v['app'] + 1e-12) / (v['torch'] + 1e-12) < 1.25}
    print('initial std differing by more than 25 % (app vs torch):', json.dumps(far), flush=True)
    print('final weights after', len(steps), 'steps: max rel diff', f"{report['final_max_rel_diff']:.3g}", sorted(report['final_rel_diff'].items(), key=lambda kv: -kv[1])[:5], flush=True)
    if args.report:
        json.dump(report, open(args.report, 'w'), indent=1)


if args.replay:
    replay()
    raise SystemExit(0)

stream = None
if args.batches:
    stream = json.load(open(args.batches))
    assert len(stream['steps']) >= (args.stop_after or args.steps), 'the stream is shorter than the run'
    print('vocabulary as the app\'s:', list(vocab) == stream['vocab'], flush=True)
    stream_index = {i: k for k, i in enumerate(load.ids[args.train][0])}
set_train_mode()
g = torch.Generator().manual_seed(args.seed)
order, at, start = torch.randperm(len(group_ids), generator=g), 0, time.time()
curve = {'loss': [], 'itc': [], 'itm': [], 'eval': []}
G = args.groups_per_batch
img_order, img_at = torch.randperm(len(xt), generator=g), 0
for step in range(1, (args.stop_after or args.steps) + 1):
    if at + G > len(order):
        order, at = torch.randperm(len(group_ids), generator=g), 0
    if stream:
        imgs = torch.tensor([stream_index[i] for i in stream['steps'][step - 1]])
    elif args.batching == 'groups' or (args.batching == 'curriculum' and step > args.random_fraction * args.steps):
        imgs = torch.cat([images_of_group[group_ids[k]] for k in order[at:at + G].tolist()])
        at += G
    else:
        # Random images, each once per epoch (as the app's shuffled DataLoader over single images).
        if img_at + 4 * G > len(img_order):
            img_order, img_at = torch.randperm(len(xt), generator=g), 0
        imgs = img_order[img_at:img_at + 4 * G].sort().values
        img_at += 4 * G
    if args.caps_per_image:
        caps = torch.tensor([c for i in imgs.tolist() for c in
                             (gen_pool[i] if len(gen_pool[i]) <= args.caps_per_image else
                              [gen_pool[i][j] for j in torch.randperm(len(gen_pool[i]), generator=g)[:args.caps_per_image].tolist()])])
    else:
        caps = torch.tensor([c for i in imgs.tolist() for c in caps_of_image[i]])
    pair_img = CIT[caps]  # image of each caption
    img_row = {int(i): r for r, i in enumerate(imgs.tolist())}
    rows = torch.tensor([img_row[int(i)] for i in pair_img.tolist()])
    iseq = model.image_seq(xt[imgs.to(dev)])
    n_neg = 0
    if args.neg_caps:
        # Generated false captions: extra image→text negatives (and ITM negatives with --itm-gen-neg).
        neg_keys, neg_owner = [], []
        for r_, i in enumerate(imgs.tolist()):
            for _ in range(args.neg_caps):
                key = false_caption(i, g)
                if key is not None:
                    neg_keys.append(key); neg_owner.append(r_)
        n_neg = len(neg_keys)
        text_ids = torch.cat([IDS[caps.to(dev)], torch.stack([tokens_of(k) for k in neg_keys]).to(dev)])
    else:
        text_ids = IDS[caps.to(dev)]
    tseq, tmask = model.text_seq(text_ids)
    ie_raw = model.embed_image(iseq)
    ie = F.normalize(ie_raw, dim=-1)[rows.to(dev)]
    te_raw = model.embed_text(tseq, tmask)
    te_all = F.normalize(te_raw, dim=-1)
    te = te_all[:len(caps)]
    scale = model.logit_scale.clamp(0, math.log(100)).exp()
    logits = scale * ie @ te.T  # [P, P]: pair i's image vs pair j's caption
    holds = TRUTH(pair_img, caps)  # caption j holds for image of pair i
    dup = (holds & ~torch.eye(len(caps), dtype=torch.bool)).to(dev)
    lpi = logits.masked_fill(dup, float('-inf'))
    lpt = logits.T.masked_fill(dup.T, float('-inf'))
    if n_neg:
        neg_holds = torch.tensor([[k in facts[i] for k in neg_keys] for i in pair_img.tolist()], device=dev)
        lpi = torch.cat([lpi, (scale * ie @ te_all[len(caps):].T).masked_fill(neg_holds, float('-inf'))], 1)
    target = torch.arange(len(caps), device=dev)
    itc = 0.5 * (F.cross_entropy(lpi, target) + F.cross_entropy(lpt, target))
    with torch.no_grad():
        acc_t2i = (pair_img[lpt.argmax(1).cpu()] == pair_img).float().mean().item()
        acc_i2t = (lpi.argmax(1) == target).float().mean().item()
    curve.setdefault('acc_t2i', []).append(acc_t2i); curve.setdefault('acc_i2t', []).append(acc_i2t)
    aux = None
    if args.aux_weight:
        al = model.aux_head(iseq)
        lab = cell_labels[imgs.to(dev)]
        aux = F.cross_entropy(al.reshape(-1, 37), lab.reshape(-1))
        with torch.no_grad():
            pr, obj = al.argmax(-1), lab > 0
            pk_, lk_ = (pr - 1).clamp(min=0), lab - 1
            aux_acc = {'kind': (pr == lab)[obj].float().mean().item(), 'size': (pk_ // 18 == lk_ // 18)[obj].float().mean().item(),
                       'color': (pk_ // 3 % 6 == lk_ // 3 % 6)[obj].float().mean().item(), 'shape': (pk_ % 3 == lk_ % 3)[obj].float().mean().item()}
        curve.setdefault('aux', []).append(aux.item()); curve.setdefault('aux_acc', []).append(aux_acc)
    if args.aux_embed_weight:
        ae, ae_acc = aux_embed_loss(ie_raw, te_raw[:len(caps)], imgs.to(dev), caps.to(dev))
        aux = args.aux_weight / args.aux_embed_weight * aux + ae if aux is not None else ae
        aux_w = args.aux_embed_weight
        curve.setdefault('aux_embed', []).append(ae.item()); curve.setdefault('aux_embed_acc', []).append(ae_acc)
    else:
        aux_w = args.aux_weight
    if args.itc_only:
        loss = itc + (aux_w * aux if aux is not None else 0)
        curve['itc'].append(itc.item())
        opt.zero_grad(); loss.backward(); nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step(); sched.step()
        if step % 20 == 0:
            print(f'step {step} itc {itc.item():.4f}' + stats() + f' T {1 / scale.item():.4f} ({time.time() - start:.0f} s)', flush=True)
        if (args.eval_every and step % args.eval_every == 0) or step == args.steps:
            res = evaluate(0); res['step'] = step; add_train_eval(res, 0); curve['eval'].append(res)
            print('eval', json.dumps(res), f'({time.time() - start:.0f} s)', flush=True)
            if args.curve:
                json.dump({'args': vars(args), **curve}, open(args.curve, 'w'))
        continue
    # ITM: positives, one hard negative caption per image and one hard negative image per caption.
    sel = torch.arange(len(caps)) if args.itm_all_pairs else torch.tensor([k for k in range(len(caps)) if k == 0 or pair_img[k] != pair_img[k - 1]])
    with torch.no_grad():
        # As the app: among the chosen pairs only, never a caption of the same image, ∝ softmax.
        same = pair_img[sel][:, None] == pair_img[sel][None, :]
        lsel = logits.detach().cpu()
        w_i2t = F.softmax(lsel[sel][:, sel], 1).masked_fill(same, 0)
        w_t2i = F.softmax(lsel.T[sel][:, sel], 1).masked_fill(same, 0)
        neg_t = sel[torch.multinomial(w_i2t, 1, generator=g).flatten()]
        neg_i = rows[sel[torch.multinomial(w_t2i, 1, generator=g).flatten()]]
    pi = torch.cat([rows[sel], rows[sel], neg_i])
    pt = torch.cat([sel, neg_t, sel])
    # A drawn negative that is in fact true (a chance match) is labelled a match.
    labels = torch.tensor([1] * len(sel) + [int(HOLDS(int(imgs[r]), int(caps[t]))) for r, t in zip(pi[len(sel):].tolist(), pt[len(sel):].tolist())])
    if args.itm_neg == 'gen':
        pi, pt, labels = rows[sel], sel, torch.ones(len(sel), dtype=torch.long)
    if args.itm_neg in ('gen', 'both') and n_neg:
        # Every generated false caption as a negative of its image.
        first = list(range(n_neg))
    elif args.itm_gen_neg and n_neg:
        # One generated false caption per image (its first) as a further negative.
        first = [k for k in range(n_neg) if k == 0 or neg_owner[k] != neg_owner[k - 1]]
    else:
        first = []
    if first:
        pi = torch.cat([pi, torch.tensor([neg_owner[k] for k in first])])
        pt = torch.cat([pt, torch.tensor([len(caps) + k for k in first])])
        labels = torch.cat([labels, torch.zeros(len(first), dtype=torch.long)])
    pi, pt = pi.to(dev), pt.to(dev)
    lg = itm_logits(iseq[pi], tseq[pt], tmask[pt])
    itm = F.cross_entropy(lg, labels.to(dev))
    loss = itm if args.itm_only else itc + args.itm_weight * itm + (aux_w * aux if aux is not None else 0)
    if args.mlm_weight:
        # MLM: one content word of each chosen caption replaced by [MASK]; the fusion of the image
        # with the masked caption predicts it from that token's output.
        ids = IDS[caps[sel].to(dev)].clone()
        can = maskable[ids]
        pick = torch.multinomial(can.float().cpu(), 1, generator=g).flatten().to(dev)
        rows_m = torch.arange(len(sel), device=dev)
        word = ids[rows_m, pick].clone()
        ids[rows_m, pick] = 4  # [MASK]
        mseq, mmask = model.text_seq(ids)
        model.itm(iseq[rows[sel].to(dev)], mseq, mmask)
        mlm = F.cross_entropy(model.mlm_head(model.itm.text_states[rows_m, pick]), word)
        loss = loss + args.mlm_weight * mlm
        curve.setdefault('mlm', []).append(mlm.item())
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    with torch.no_grad():
        model.logit_scale.clamp_(0, math.log(100))
    curve['loss'].append(loss.item()); curve['itc'].append(itc.item()); curve['itm'].append(itm.item())
    if step % 20 == 0:
        print(f'step {step} loss {loss.item():.4f} itc {itc.item():.4f} itm {itm.item():.4f}' + (f' mlm {mlm.item():.4f}' if args.mlm_weight else '') + stats() + f' T {1 / scale.item():.4f} ({time.time() - start:.0f} s)', flush=True)
    if (args.eval_every and step % args.eval_every == 0) or step == args.steps:
        rk = args.rerank if step == args.steps or args.rerank_evals else 0
        res = evaluate(rk)
        res['step'] = step
        add_train_eval(res, rk)
        curve['eval'].append(res)
        print('eval', json.dumps(res), f'({time.time() - start:.0f} s)', flush=True)
        if args.curve:
            json.dump({'args': vars(args), **curve}, open(args.curve, 'w'))
if args.curve:
    json.dump({'args': vars(args), **curve}, open(args.curve, 'w'))
if args.save:
    torch.save(model.state_dict(), args.save)
