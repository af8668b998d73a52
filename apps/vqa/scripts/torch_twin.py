"""PyTorch twin of the VQA app's recipe, to tell "the recipe cannot learn this" from "our library has
a bug". Same generated files (VQA v2 layout + COCO captions), same word-level tokens, same model
(BatchNorm conv stem with coordinates -> cells, a Transformer text encoder whose residual branches
start at zero, a FiLM fusion whose residual blocks convolve 3x3 over the cells' grid, flattened
readout, MLP head with the answer prior as bias), same pretraining (one masked word per caption
predicted from the fused vector + ITC + ITM with hard negatives), same fine-tuning (softmax
cross-entropy, AdamW with layer-wise LR decay, warmup + cosine, clipping at 1, batches of images x
questions). Prints the official-style accuracy (all 10 generated answers agree, so accuracy = exact
match) overall, non-relational, relational and per question type.

    /usr/bin/python3 apps/vqa/scripts/torch_twin.py --data apps/vqa/data/sort-of-clevr

Needs Debian's python3-torch, python3-numpy and python3-pil; run `pnpm vqa` (or `pnpm vqa generate`)
once first so that the dataset exists. Defaults mirror `DEFAULT_CONFIG` in src/config.ts.
"""
import argparse, collections, glob, json, math, re, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

p = argparse.ArgumentParser()
p.add_argument('--data', default='apps/vqa/data/sort-of-clevr')
p.add_argument('--train-images', type=int, default=10000)
p.add_argument('--val-images', type=int, default=500)
p.add_argument('--size', type=int, default=64)
p.add_argument('--objects', type=int, default=4)
p.add_argument('--seed', type=int, default=1)
p.add_argument('--pretrain-steps', type=int, default=100)
p.add_argument('--pretrain-images', type=int, default=16)
p.add_argument('--steps', type=int, default=5000)
p.add_argument('--images-per-batch', type=int, default=26)
p.add_argument('--questions-per-image', type=int, default=5)
p.add_argument('--lr', type=float, default=1.5e-3)
p.add_argument('--layer-decay', type=float, default=1.0)
p.add_argument('--warmup-ratio', type=float, default=0.03)
p.add_argument('--eval-every', type=int, default=1250)
p.add_argument('--threads', type=int, default=2)
p.add_argument('--pooling', default='flatten', choices=['flatten', 'max', 'attn', 'both'], help="FiLM's readout (the app's fusion option 'pooling'; 'both': flatten plus a question-guided attention read-out, summed)")
p.add_argument('--d-model', type=int, default=32, help='width of cells, tokens and FiLM blocks (the app: 32)')
p.add_argument('--json', default='')
p.add_argument('--input-projection', type=int, default=0, help='0: the FiLM blocks start from the stem cells themselves (no Linear + ReLU before them)')
p.add_argument('--coords', type=int, default=1, help='FiLM blocks as in the paper: 1x1 conv over [h, x, y] before each 3x3 conv')
p.add_argument('--text-encoder', default='transformer', choices=['transformer', 'gru'], help="'gru': the question's vector is a GRU's state after its last word (read in order)")
p.add_argument('--model-seed', type=int, default=-1, help='seed of the weights and batches (default: --seed, which also names the data)')
p.add_argument('--only-type', default='', help='train and evaluate on these question types only (comma-separated): a probe')
p.add_argument('--q-scale', type=float, default=8.0, help="multiplies the question's vector before the FiLM generator (the fusion's conditionScale; the app: 8)")
p.add_argument('--film-mlp', type=int, default=0, help='1: the FiLM generator is Linear-ReLU-Linear instead of one Linear')
p.add_argument('--head-q', type=int, default=0, help="1: the answer head also sees the question's vector")
p.add_argument('--film-norm', default='bn', choices=['bn', 'ln', 'none'], help="normalisation inside the FiLM blocks (the fusion's 'norm')")
p.add_argument('--stem', default='conv', choices=['conv', 'avg'], help="'avg': no learned stem, each cell is its 2x2 sub-cells' mean colour (a perception probe)")
p.add_argument('--stem-layers', default='24:2,48:2,64:2', help='the conv stem: channels:stride per layer (the app: 24:2,48:2,64:2)')
p.add_argument('--text-pool', default='mean', choices=['mean', 'max', 'queries', 'flatten', 'mean+flatten', 'mean,flatten', 'flatten2', 'mean+flatten2'], help="the question's vector from the Transformer's token states (the app: mean; 'queries': --text-queries learned queries attend over the tokens, their outputs concatenated and projected, so word order counts from the start; 'flatten': one Linear over the padded token states, each position its own weights; 'mean+flatten': their sum; 'mean,flatten': both, concatenated (the FiLM generator reads 2d); 'flatten2': flatten with the tokens aligned at the start and, again, at the end (a word's slot counted from either end); 'mean+flatten2': the mean plus flatten2, whose Linear starts at zero with --merge-init zero)")
p.add_argument('--merge-init', default='default', choices=['default', 'zero'], help="'zero': the flatten pools' Linear starts at zero, so the question starts as the mean (or zero) and word order is learned as a residual")
p.add_argument('--merge-delay', type=int, default=0, help="N > 0: the flatten pools' Linear stays as initialised (its gradient zeroed) for the first N fine-tuning steps: with --merge-init zero and mean+flatten2, the model learns from the mean first and word order after")
p.add_argument('--head-q-pool', default='', choices=['', 'flatten2'], help="'flatten2': the answer head also sees a second question vector, flatten2 over the tokens (word order), while FiLM keeps --text-pool's")
p.add_argument('--text-queries', type=int, default=4)
p.add_argument('--att-path', type=int, default=0, help='a probe: heads of a question-to-cell attention over the stem cells whose read-out is added to the fused vector')
p.add_argument('--warm-root', default='', help='a curriculum probe: a generated dataset folder (e.g. one object per scene) trained on first')
p.add_argument('--warm-steps', type=int, default=0, help='steps on --warm-root before the main data (counted in --steps)')
p.add_argument('--type-curriculum', default='', help="'types:N': the first N fine-tuning steps sample only questions of these types (comma-separated), then all")
p.add_argument('--share-image-rows', type=int, default=0, help="1: the app's forwardShared: the first FiLM block's projection and convolution run once per image, gathered per question before its BatchNorm (the same function; sums in another order)")
p.add_argument('--blocks', type=int, default=2, help="FiLM blocks (the fusion's numBlocks; the app: 2)")
p.add_argument('--kernel', type=int, default=3, help='kernel size of the stem convolutions (the app: 3)')
p.add_argument('--anchor', type=int, default=0, help="K > 0: K question-guided attentions over the cells after the first FiLM block each find an anchor position; every later block and the output see each cell's offset and distance to it (3 channels per anchor)")
p.add_argument('--anchor-features', type=int, default=0, help="1: with --anchor, every later block also sees each anchor's attended features (the cells' states weighted by its attention), broadcast to every cell")
p.add_argument('--bn-batches', type=int, default=8, help='training batches that recompute the BatchNorm statistics before each evaluation (0: keep the running ones)')
args = p.parse_args()
MODEL_SEED = args.seed if args.model_seed < 0 else args.model_seed
torch.manual_seed(MODEL_SEED)
torch.set_num_threads(args.threads)
RELATIONAL = {'closest', 'furthest', 'count_shape', 'count_color', 'relative_position'}


def load(part, n, split, root=None):
    root = root or glob.glob(f'{args.data}/{part}-{n}-{args.size}px-{args.objects}obj-seed{args.seed}')[0]
    questions = json.load(open(f'{root}/v2_OpenEnded_mscoco_{split}_questions.json'))['questions']
    annotations = json.load(open(f'{root}/v2_mscoco_{split}_annotations.json'))['annotations']
    captions = json.load(open(f'{root}/annotations/captions_{split}.json'))['annotations']
    index, images = {}, []

    def image(i):
        if i not in index:
            index[i] = len(images)
            px = np.asarray(Image.open(f'{root}/{split}/COCO_{split}_{i:012d}.png').convert('RGB'), np.float32)
            images.append((px / 255 - 0.5) / 0.5)  # the app's processor: mean = std = 0.5
        return index[i]

    qs = [(image(q['image_id']), q['question'], a['multiple_choice_answer'], a['question_type'])
          for q, a in zip(questions, annotations) if not args.only_type or a['question_type'] in args.only_type.split(',')]
    cs = [(image(c['image_id']), c['caption']) for c in captions]
    return torch.tensor(np.stack(images)).permute(0, 3, 1, 2).contiguous(), qs, cs


t0 = time.time()
Xtr, train, train_caps = load('train', args.train_images, 'train2014')
Xva, val, _ = load('val', args.val_images, 'val2014')
words = lambda s: re.findall(r"\w+|[^\w\s]", s.lower())
vocab = {'[PAD]': 0, '[UNK]': 1, '[CLS]': 2, '[SEP]': 3, '[MASK]': 4}
for text in [q for _, q, _, _ in train] + [c for _, c in train_caps]:
    for w in words(text):
        vocab.setdefault(w, len(vocab))
counts = collections.Counter(a for _, _, a, _ in train)
answers = ['[UNK]'] + sorted(counts, key=lambda a: (-counts[a], a))
aidx = {a: i for i, a in enumerate(answers)}
max_len = 2 + max(len(words(t)) for t in [q for _, q, _, _ in train] + [c for _, c in train_caps])
NEVER = {vocab[w] for w in ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'an', 'the', 'of', 'to', 'is', '.', ','] if w in vocab}


def encode(texts):
    ids = torch.zeros(len(texts), max(len(words(t)) for t in texts) + 2, dtype=torch.long)
    for i, t in enumerate(texts):
        tok = [2] + [vocab.get(w, 1) for w in words(t)] + [3]
        ids[i, : len(tok)] = torch.tensor(tok)
    return ids


class ConvStem(nn.Module):
    def __init__(s, d, layers=None):
        layers = [tuple(int(v) for v in l.split(':')) for l in args.stem_layers.split(',')]
        super().__init__()
        mods, c_in = [], 3
        if args.stem == 'avg':  # fixed features: the mean colour of each cell's 2x2 sub-cells
            layers, mods, c_in = (), [nn.AvgPool2d(args.size // 16), nn.PixelUnshuffle(2)], 12
        for c, stride in layers:
            mods += [nn.Conv2d(c_in, c, args.kernel, stride, args.kernel // 2, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
            c_in = c
        s.convs, s.project = nn.Sequential(*mods), nn.Linear(c_in + 2, d)

    def forward(s, x):
        f = s.convs(x)
        b, c, h, w = f.shape
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing='ij')
        f = torch.cat([f, torch.stack([xs, ys])[None].expand(b, 2, h, w)], 1)  # x then y, as addCoordChannels
        return s.project(f.flatten(2).transpose(1, 2))


class TextEncoder(nn.Module):
    def __init__(s, d, layers=1, heads=4):
        super().__init__()
        s.tokens = nn.Embedding(len(vocab), d, padding_idx=0)
        s.positions = nn.Parameter(torch.randn(max_len, d) * 0.02)
        s.layers = nn.ModuleList()
        if args.text_encoder == 'gru':
            s.gru, layers = nn.GRU(d, d, batch_first=True), 0
            del s.positions
        for _ in range(layers):
            layer = nn.TransformerEncoderLayer(d, heads, 2 * d, 0.0, 'gelu', batch_first=True, norm_first=True)
            nn.init.zeros_(layer.self_attn.out_proj.weight)  # residual branches start at zero
            nn.init.zeros_(layer.linear2.weight)
            s.layers.append(layer)
        if args.text_pool == 'queries':
            s.queries = nn.Parameter(torch.randn(args.text_queries, d) * d ** -0.5)
            s.keys, s.merge = nn.Linear(d, d), nn.Linear(args.text_queries * d, d)
        if args.text_pool in ('flatten', 'mean+flatten', 'mean,flatten'):
            s.merge = nn.Linear(max_len * d, d)
        if args.text_pool in ('flatten2', 'mean+flatten2'):
            s.merge = nn.Linear(2 * max_len * d, d)
        if args.head_q_pool == 'flatten2':
            s.merge_head = nn.Linear(2 * max_len * d, d)
        if args.merge_init == 'zero' and hasattr(s, 'merge'):
            nn.init.zeros_(s.merge.weight)
            nn.init.zeros_(s.merge.bias)

    def pool(s, text, mask):
        if args.text_pool in ('flatten2', 'mean+flatten2'):
            b, n, d = text.shape
            x = F.pad(text * mask[..., None], (0, 0, 0, max_len - n))  # aligned at the start
            lengths = mask.long().sum(1, keepdim=True)
            idx = torch.arange(max_len)[None] - (max_len - lengths)  # aligned at the end
            ok = (idx >= 0).float()[..., None]
            y = torch.gather(x, 1, idx.clamp(min=0)[..., None].expand(b, max_len, d)) * ok
            flat = s.merge(torch.cat([x, y], 1).flatten(1))
            if args.text_pool == 'flatten2':
                return flat
            m = mask.float()[..., None]
            return flat + (text * m).sum(1) / m.sum(1)
        if args.text_pool in ('flatten', 'mean+flatten', 'mean,flatten'):
            x = F.pad(text * mask[..., None], (0, 0, 0, max_len - text.shape[1]))
            flat = s.merge(x.flatten(1))
            if args.text_pool == 'flatten':
                return flat
            m = mask.float()[..., None]
            mean = (text * m).sum(1) / m.sum(1)
            return torch.cat([mean, flat], 1) if args.text_pool == 'mean,flatten' else flat + mean
        logits = torch.einsum('bnd,kd->bkn', s.keys(text), s.queries).masked_fill(~mask[:, None], -1e9)
        return s.merge((torch.softmax(logits, -1) @ text).flatten(1))

    def ends(s, text, mask):
        """[B, 2 max_len, d]: the token states aligned at the start and again at the end."""
        b, n, d = text.shape
        x = F.pad(text * mask[..., None], (0, 0, 0, max_len - n))
        lengths = mask.long().sum(1, keepdim=True)
        idx = torch.arange(max_len)[None] - (max_len - lengths)
        y = torch.gather(x, 1, idx.clamp(min=0)[..., None].expand(b, max_len, d)) * (idx >= 0).float()[..., None]
        return torch.cat([x, y], 1)

    def forward(s, ids):
        if args.text_encoder == 'gru':  # outputs after each word; pooled below at the last real one
            return s.gru(s.tokens(ids))[0]
        x = s.tokens(ids) + s.positions[: ids.shape[1]]
        for layer in s.layers:
            x = layer(x, src_key_padding_mask=ids == 0)
        return x


def pool(text, mask):
    """The question's vector: the GRU's state after the last real word, or the mean of the tokens."""
    if args.text_pool in ('queries', 'flatten', 'mean+flatten', 'mean,flatten', 'flatten2', 'mean+flatten2') and args.text_encoder != 'gru':
        return model.text.pool(text, mask)
    if args.text_encoder == 'gru':  # right-padded: equal to the state of a packed sequence
        return text[torch.arange(text.shape[0]), mask.long().sum(1) - 1]
    m = mask.float()[..., None]
    if args.text_pool == 'max':
        return text.masked_fill(~mask[..., None], -1e4).max(1).values
    return (text * m).sum(1) / m.sum(1)


class FiLMFusion(nn.Module):
    """@polymodal/fusion's FiLMFusion with grid and flatten pooling (h + ReLU((1+dg) BN(conv3x3 h) + b))."""

    def __init__(s, d, hidden, out, blocks, grid):
        super().__init__()
        s.grid, s.hidden, s.k = grid, hidden, blocks
        qd = 2 * d if args.text_pool == 'mean,flatten' else d  # the question vector's width
        s.input, s.film = nn.Linear(d, hidden), nn.Linear(qd, 2 * blocks * hidden)
        if args.film_mlp:
            s.film = nn.Sequential(nn.Linear(d, 4 * d), nn.ReLU(), nn.Linear(4 * d, 2 * blocks * hidden))
        s.convs = nn.ModuleList([nn.Conv2d(hidden, hidden, 3, padding=1, bias=False) for _ in range(blocks)])
        extra = 2 if args.coords else 0
        s.ax = (3 + (hidden if args.anchor_features else 0)) * args.anchor
        s.pre = nn.ModuleList([nn.Linear(hidden + 2 + (s.ax if i else 0), hidden) for i in range(blocks)]) if args.coords else None
        if args.anchor:
            s.anchor_q, s.anchor_k = nn.Linear(d, args.anchor * hidden), nn.Linear(hidden, args.anchor * hidden)
        extra += s.ax
        gy, gx = torch.meshgrid(torch.linspace(-1, 1, grid[0]), torch.linspace(-1, 1, grid[1]), indexing='ij')
        s.register_buffer('xy', torch.stack([gx.flatten(), gy.flatten()], 1))
        s.norms = nn.ModuleList([nn.BatchNorm1d(hidden, affine=False) for _ in range(blocks)])
        s.output = nn.Linear(hidden + extra, out)
        if args.att_path:
            s.aq, s.ak, s.av = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
            s.ao = nn.Linear(d, out)
        if args.pooling in ('flatten', 'both'):
            s.readout = nn.Linear(grid[0] * grid[1] * out, out)
        if args.pooling == 'both':
            s.akey, s.aquery, s.aread = nn.Linear(out, out), nn.Linear(d, out), nn.Linear(out + d, out)
        if args.pooling == 'attn':  # question-guided attention over the output cells
            s.akey, s.aquery, s.readout = nn.Linear(out, out), nn.Linear(d, out), nn.Linear(out + d, out)

    def forward(s, cells, text, mask, rows=None):
        q = pool(text, mask)
        params = s.film(q * args.q_scale).view(-1, s.k, 2 * s.hidden)
        h = torch.relu(s.input(cells)) if args.input_projection else cells
        s.rel = None
        for i in range(s.k):
            dg, beta = params[:, i : i + 1, : s.hidden], params[:, i : i + 1, s.hidden :]
            if i == 1 and args.anchor:
                s.rel = s.anchor_offsets(h, q)
            if s.pre is not None:
                h = torch.relu(s.pre[i](s.with_xy(h)))
            b, n, _ = h.shape
            u = s.convs[i](h.transpose(1, 2).reshape(b, s.hidden, *s.grid)).reshape(b, s.hidden, n).transpose(1, 2)
            if i == 0 and rows is not None:  # shared image rows: one convolution per image, then per question
                h, u = h[rows], u[rows]
                b = h.shape[0]
            if args.film_norm == 'bn':
                u = s.norms[i](u.reshape(b * n, s.hidden)).reshape(b, n, s.hidden)
            elif args.film_norm == 'ln':
                u = F.layer_norm(u, (s.hidden,))
            h = h + torch.relu((1 + dg) * u + beta)
        o = torch.relu(s.output(s.with_xy(h) if s.pre is not None else h))
        if args.pooling == 'max':  # the paper's global max pool: one readout shared by every cell
            r = o.max(1).values
        elif args.pooling == 'attn':
            a = torch.softmax((s.akey(o) * s.aquery(q)[:, None]).sum(-1) / math.sqrt(o.shape[-1]), 1)
            r = torch.relu(s.readout(torch.cat([(a[..., None] * o).sum(1), q], 1)))
        else:
            r = torch.relu(s.readout(o.flatten(1)))
        if args.pooling == 'both':
            a = torch.softmax((s.akey(o) * s.aquery(q * args.q_scale)[:, None]).sum(-1) / math.sqrt(o.shape[-1]), 1)
            r = r + torch.relu(s.aread(torch.cat([(a[..., None] * o).sum(1), q], 1)))
        if args.att_path:
            hh = args.att_path
            b, n, _ = cells.shape
            qq = s.aq(q * args.q_scale).view(b, 1, hh, -1)
            kk = s.ak(cells).view(b, n, hh, -1)
            a = torch.softmax((qq * kk).sum(-1) / math.sqrt(kk.shape[-1]), 1)  # [b, n, hh]
            v = s.av(cells).view(b, n, hh, -1)
            r = r + torch.relu(s.ao((a[..., None] * v).sum(1).reshape(b, -1)))
        if args.head_q_pool:
            return torch.cat([r, model.text.merge_head(model.text.ends(text, mask).flatten(1))], 1)
        return torch.cat([r, q], 1) if args.head_q else r

    def anchor_offsets(s, h, q):
        b, n, _ = h.shape
        k = args.anchor
        qq = s.anchor_q(q * args.q_scale).view(b, 1, k, -1)
        kk = s.anchor_k(h).view(b, n, k, -1)
        a = torch.softmax((qq * kk).sum(-1) / math.sqrt(kk.shape[-1]), 1)  # [b, n, k]
        p = torch.einsum('bnk,nc->bkc', a, s.xy)  # [b, k, 2] the anchors' positions
        off = s.xy[None, :, None, :] - p[:, None]  # [b, n, k, 2]
        dist = (off.square().sum(-1, keepdim=True) + 1e-6).sqrt()
        rel = torch.cat([off, dist], -1).reshape(b, n, 3 * k)
        if args.anchor_features:  # what the anchor is (its colour, shape, size), at every cell
            g = torch.einsum('bnk,bnc->bkc', a, h).reshape(b, 1, -1).expand(b, n, -1)
            rel = torch.cat([rel, g], -1)
        return rel

    def with_xy(s, h):
        out = torch.cat([h, s.xy.expand(h.shape[0], -1, -1)], 2)
        return out if s.rel is None else torch.cat([out, s.rel], 2)


class VqaModel(nn.Module):
    def __init__(s, d=64):
        super().__init__()
        s.image, s.text = ConvStem(d), TextEncoder(d)
        side = args.size // 8
        s.fusion = FiLMFusion(d, d, 2 * d, args.blocks, (side, side))
        s.head = nn.Sequential(nn.Linear(2 * d + (d if args.head_q or args.head_q_pool else 0), 2 * d), nn.GELU(), nn.Linear(2 * d, len(answers)))
        prior = torch.tensor([counts.get(a, 0) for a in answers], dtype=torch.float) / len(train)
        prior = prior.clamp(1e-4, 1 - 1e-4)
        with torch.no_grad():
            s.head[-1].bias.copy_(torch.log(prior / (1 - prior)))

    def fuse(s, cells, ids, rows=None):
        """cells per question, or per image with rows[i] the image of question i."""
        if rows is not None and (args.att_path or not args.share_image_rows):  # (with --anchor the shared rows end before block 1 anyway)
            cells, rows = cells[rows], None
        return s.fusion(cells, s.text(ids), ids != 0, rows)


model = VqaModel(args.d_model)
FUSED = (3 if args.head_q or args.head_q_pool else 2) * args.d_model  # width of the fused vector


def schedule(opt, steps, ratio):
    warm = min(steps - 1, round(ratio * steps))
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: t / max(1, warm) if t < warm else 0.5 * (1 + math.cos(math.pi * (t - warm) / max(1, steps - warm))))


def param_groups(named, lr, decay, depth):
    groups = collections.defaultdict(list)
    for name, prm in named:
        no_decay = prm.ndim < 2
        groups[(depth(name), no_decay)].append(prm)
    return [{'params': ps, 'lr': lr * decay ** (4 - d), 'weight_decay': 0.0 if nd else 0.01} for (d, nd), ps in groups.items()]


def depth(name):  # the app's vqaLayerId
    return 4 if name.startswith('head.') else 3 if name.startswith('fusion.') else 2 if name.startswith('text.layers.') else 1


curve = []
g = np.random.default_rng(MODEL_SEED)
bn_rng = np.random.default_rng(args.seed + 1000)

# ---- stage 1: pretraining on the captions ------------------------------------------------------
if args.pretrain_steps:
    heads = nn.ModuleDict({
        'mlm': nn.Sequential(nn.Linear(FUSED, 2 * args.d_model), nn.GELU(), nn.Linear(2 * args.d_model, len(vocab))),
        'itm': nn.Linear(FUSED, 2), 'img': nn.Linear(args.d_model, args.d_model), 'txt': nn.Linear((2 if args.text_pool == 'mean,flatten' else 1) * args.d_model, args.d_model)})
    logit_scale = nn.Parameter(torch.tensor([math.log(1 / 0.07)]))
    opt = torch.optim.AdamW(param_groups(list(model.named_parameters()) + list(heads.named_parameters()), args.lr, 1.0, lambda n: 4)
                            + [{'params': [logit_scale], 'weight_decay': 0.0}], lr=args.lr)
    sched = schedule(opt, args.pretrain_steps, 0.1)
    by_image = collections.defaultdict(list)
    for k, (i, _) in enumerate(train_caps):
        by_image[i].append(k)
    for step in range(1, args.pretrain_steps + 1):
        ims = g.choice(sorted(by_image), args.pretrain_images, replace=False)
        picked = [k for i in ims for k in g.permutation(by_image[i])[:3]]
        img_ids = torch.tensor([train_caps[k][0] for k in picked])
        uniq, inv = torch.unique(img_ids, return_inverse=True)
        ids = encode([train_caps[k][1] for k in picked])
        masked, target = ids.clone(), torch.zeros(len(picked), dtype=torch.long)
        for r in range(len(picked)):
            cand = [j for j in range(ids.shape[1]) if int(ids[r, j]) not in NEVER]
            j = cand[g.integers(0, len(cand))]
            target[r], masked[r, j] = ids[r, j], 4
        cells = model.image(Xtr[uniq])[inv]
        mlm = F.cross_entropy(heads['mlm'](model.fuse(cells, masked)), target)
        m = (ids != 0).float()[..., None]
        te = F.normalize(heads['txt'](pool(model.text(ids), ids != 0)), dim=-1)
        ie = F.normalize(heads['img'](cells.mean(1)), dim=-1)
        same = img_ids[:, None] == img_ids[None, :]
        sim = logit_scale.clamp(0, math.log(100)).exp() * ie @ te.T
        sim = sim.masked_fill(same & ~torch.eye(len(picked), dtype=torch.bool), -1e9)
        tgt = torch.arange(len(picked))
        itc = (F.cross_entropy(sim, tgt) + F.cross_entropy(sim.T, tgt)) / 2
        with torch.no_grad():
            w = torch.softmax(sim.detach().masked_fill(same, -1e9), 1)
            neg = torch.multinomial(w + 1e-12, 1).squeeze(1)
        n = len(picked)
        pair = model.fuse(torch.cat([cells, cells]), torch.cat([ids, ids[neg]]))
        itm = F.cross_entropy(heads['itm'](pair), torch.cat([torch.ones(n, dtype=torch.long), torch.zeros(n, dtype=torch.long)]))
        loss = mlm + itc + itm
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(list(model.parameters()) + list(heads.parameters()) + [logit_scale], 1.0)
        opt.step()
        sched.step()
        if step % 100 == 0 or step == args.pretrain_steps:
            print(f'pretrain step {step} mlm {mlm.item():.3f} itc {itc.item():.3f} itm {itm.item():.3f} ({time.time() - t0:.0f} s)', flush=True)
            curve.append({'phase': 'pretrain', 'step': step, 'mlm': mlm.item(), 'itc': itc.item(), 'itm': itm.item()})

# ---- stage 2: fine-tuning on the questions -----------------------------------------------------
Qva = encode([q for _, q, _, _ in val])
Iva = torch.tensor([i for i, _, _, _ in val])
Ava = torch.tensor([aidx.get(a, -1) for _, _, a, _ in val])


def refresh_batch_norm():
    """The app's updateBatchNorm (torch.optim.swa_utils.update_bn): statistics of the current weights."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    with torch.no_grad():
        for _ in range(args.bn_batches):
            ims = bn_rng.choice(sorted(by_image), args.images_per_batch, replace=False)
            b = [k for i in ims for k in bn_rng.permutation(by_image[i])[: args.questions_per_image]]
            uniq, inv = torch.unique(torch.tensor([train[k][0] for k in b]), return_inverse=True)
            model.fuse(model.image(Xtr[uniq]), Qtr[b][:, : int((Qtr[b] != 0).sum(1).max())], inv)
    for m, mo in zip(bns, saved):
        m.momentum = mo


def evaluate():
    if args.bn_batches:
        refresh_batch_norm()
    model.eval()
    with torch.no_grad():
        cells = model.image(Xva)
        preds = torch.cat([model.head(model.fuse(cells[Iva[k:k + 256]], Qva[k:k + 256])).argmax(-1)
                           for k in range(0, len(val), 256)])
    model.train()
    ok = (preds == Ava).float().numpy()
    per = collections.defaultdict(list)
    for (_, _, _, t), o in zip(val, ok):
        per[t].append(o)
    rel = [o for (_, _, _, t), o in zip(val, ok) if t in RELATIONAL]
    non = [o for (_, _, _, t), o in zip(val, ok) if t not in RELATIONAL]
    return float(ok.mean()), float(np.mean(non)), float(np.mean(rel)) if rel else float('nan'), {k: round(100 * float(np.mean(v)), 1) for k, v in sorted(per.items())}


opt = torch.optim.AdamW(param_groups(model.named_parameters(), args.lr, args.layer_decay, depth), lr=args.lr)
sched = schedule(opt, args.steps, args.warmup_ratio)
by_image = collections.defaultdict(list)
for k, (i, _, _, _) in enumerate(train):
    by_image[i].append(k)
Qtr = encode([q for _, q, _, _ in train])
Atr = torch.tensor([aidx[a] for _, _, a, _ in train])
t1 = time.time()
MAIN = (Xtr, train, by_image, Qtr, Atr)
if args.warm_steps:
    Xw, warm, _ = load('train', 0, 'train2014', args.warm_root)
    bw = collections.defaultdict(list)
    for k, (i, _, _, _) in enumerate(warm):
        bw[i].append(k)
    WARM = (Xw, warm, bw, encode([q for _, q, _, _ in warm]), torch.tensor([aidx.get(a, 0) for _, _, a, _ in warm]))
CURRICULUM_STEPS = 0
if args.type_curriculum:
    types, n = args.type_curriculum.rsplit(':', 1)
    CURRICULUM_STEPS, keep = int(n), set(types.split(','))
    bc = collections.defaultdict(list)
    for k, (i, _, _, t) in enumerate(train):
        if t in keep:
            bc[i].append(k)
    EASY = (Xtr, train, {i: v for i, v in bc.items() if v}, Qtr, Atr)
for step in range(1, args.steps + 1):
    Xtr, train, by_image, Qtr, Atr = WARM if step <= args.warm_steps else EASY if step <= CURRICULUM_STEPS else MAIN
    ims = g.choice(sorted(by_image), args.images_per_batch, replace=False)
    b = torch.tensor([k for i in ims for k in g.permutation(by_image[i])[: args.questions_per_image]])
    uniq, inv = torch.unique(torch.tensor([train[k][0] for k in b.tolist()]), return_inverse=True)
    loss = F.cross_entropy(model.head(model.fuse(model.image(Xtr[uniq]), Qtr[b][:, : int((Qtr[b] != 0).sum(1).max())], inv)), Atr[b])
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if step <= args.merge_delay:
        for prm in model.text.merge.parameters():
            prm.grad = None  # AdamW skips parameters without a gradient
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    Xtr, train, by_image, Qtr, Atr = MAIN
    if step % args.eval_every == 0 or step == args.steps:
        acc, non, rel, per = evaluate()
        el = time.time() - t1
        curve.append({'phase': 'vqa', 'step': step, 'acc': acc, 'nonrel': non, 'rel': rel, 'per': per, 'seconds': el})
        print(f'step {step} loss {loss.item():.3f} accuracy {100 * acc:.1f} non-relational {100 * non:.1f} relational {100 * rel:.1f} {per} ({el:.0f} s, {1000 * el / step:.0f} ms/step)', flush=True)
if args.json:
    json.dump({'args': vars(args), 'curve': curve}, open(args.json, 'w'), indent=1)
