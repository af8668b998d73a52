"""PyTorch side of the VQA training-step benchmark: the app's default model (apps/vqa DEFAULT_CONFIG,
the same layers as apps/vqa/scripts/torch_twin.py with its defaults: BatchNorm conv stem 3->24->48->64
with coordinates, a 1-layer pre-norm Transformer text encoder, d = --d-model (32, the app default), FiLM fusion with 2 blocks of
Linear(coords) + 3x3 conv + BatchNorm1d starting from the stem's cells (no input projection),
flatten readout, MLP head) on random data of the app's batch
shape (26 images x 5 questions), one step = forward, backward, AdamW, zero_grad.

    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 tooling/bench/src/vqa_step_torch.py --threads 1 [--profile]

Prints one JSON line {medianMs, reps, minMs, cpuMedianMs (process CPU time, every thread)}; with --profile, first the per-op table of
torch.profiler (self CPU time, one step averaged over 5).
"""
import argparse, json, time
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument('--threads', type=int, default=1)
p.add_argument('--profile', action='store_true')
p.add_argument('--budget', type=float, default=6.0)
p.add_argument('--d-model', type=int, default=32, help="the model's width (apps/vqa DEFAULT_CONFIG.model.dModel)")
p.add_argument('--head-word-order', type=int, default=1, help="1: the answer head also reads the question's word-order vector (apps/vqa DEFAULT_CONFIG.model.headWordOrder; twin --head-q-pool flatten2)")
args = p.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)
IMAGES, PER_IMAGE, VOCAB, ANSWERS, LENGTH, D = 26, 5, 48, 22, 12, args.d_model
MAX_LENGTH = 16  # the tokenizer's maximum (profile-step.ts's maxTextLength)
B = IMAGES * PER_IMAGE


class ConvStem(nn.Module):
    def __init__(s, d, layers=((24, 2), (48, 2), (64, 2))):
        super().__init__()
        mods, c_in = [], 3
        for c, stride in layers:
            mods += [nn.Conv2d(c_in, c, 3, stride, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
            c_in = c
        s.convs, s.project = nn.Sequential(*mods), nn.Linear(c_in + 2, d)

    def forward(s, x):
        f = s.convs(x)
        b, c, h, w = f.shape
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing='ij')
        f = torch.cat([f, torch.stack([xs, ys])[None].expand(b, 2, h, w)], 1)
        return s.project(f.flatten(2).transpose(1, 2))


class TextEncoder(nn.Module):
    def __init__(s, d):
        super().__init__()
        s.tokens = nn.Embedding(VOCAB, d, padding_idx=0)
        s.positions = nn.Parameter(torch.randn(16, d) * 0.02)
        s.layer = nn.TransformerEncoderLayer(d, 4, 2 * d, 0.0, 'gelu', batch_first=True, norm_first=True)
        s.order = nn.Linear(2 * MAX_LENGTH * d, d) if args.head_word_order else None

    def forward(s, ids):
        return s.layer(s.tokens(ids) + s.positions[: ids.shape[1]], src_key_padding_mask=ids == 0)

    def ordered(s, text, mask):
        """The word-order vector: the token states in slots counted from the start and from the end."""
        b, n, d = text.shape
        x = F.pad(text * mask[..., None], (0, 0, 0, MAX_LENGTH - n))
        idx = torch.arange(MAX_LENGTH)[None] - (MAX_LENGTH - mask.long().sum(1, keepdim=True))
        y = torch.gather(x, 1, idx.clamp(min=0)[..., None].expand(b, MAX_LENGTH, d)) * (idx >= 0).float()[..., None]
        return s.order(torch.cat([x, y], 1).flatten(1))


class FiLMFusion(nn.Module):
    def __init__(s, d, hidden, out, blocks, grid):
        super().__init__()
        s.grid, s.hidden, s.k = grid, hidden, blocks
        s.film = nn.Linear(d, 2 * blocks * hidden)
        s.convs = nn.ModuleList([nn.Conv2d(hidden, hidden, 3, padding=1, bias=False) for _ in range(blocks)])
        s.pre = nn.ModuleList([nn.Linear(hidden + 2, hidden) for _ in range(blocks)])
        gy, gx = torch.meshgrid(torch.linspace(-1, 1, grid[0]), torch.linspace(-1, 1, grid[1]), indexing='ij')
        s.register_buffer('xy', torch.stack([gx.flatten(), gy.flatten()], 1))
        s.norms = nn.ModuleList([nn.BatchNorm1d(hidden, affine=False) for _ in range(blocks)])
        s.output, s.readout = nn.Linear(hidden + 2, out), nn.Linear(grid[0] * grid[1] * out, out)

    def forward(s, cells, text, mask):
        m = mask.float()[..., None]
        q = (text * m).sum(1) / m.sum(1)
        params = s.film(8 * q).view(-1, s.k, 2 * s.hidden)  # the app's conditionScale 8
        h = cells  # inputProjection: false
        b, n, _ = h.shape
        for i in range(s.k):
            dg, beta = params[:, i : i + 1, : s.hidden], params[:, i : i + 1, s.hidden :]
            h = torch.relu(s.pre[i](s.with_xy(h)))
            u = s.convs[i](h.transpose(1, 2).reshape(b, s.hidden, *s.grid)).reshape(b, s.hidden, n).transpose(1, 2)
            u = s.norms[i](u.reshape(b * n, s.hidden)).reshape(b, n, s.hidden)
            h = h + torch.relu((1 + dg) * u + beta)
        return torch.relu(s.readout(torch.relu(s.output(s.with_xy(h))).flatten(1)))

    def with_xy(s, h):
        return torch.cat([h, s.xy.expand(h.shape[0], -1, -1)], 2)


class VqaModel(nn.Module):
    def __init__(s, d=D):
        super().__init__()
        s.image, s.text = ConvStem(d), TextEncoder(d)
        s.fusion = FiLMFusion(d, d, 2 * d, 2, (8, 8))
        s.head = nn.Sequential(nn.Linear((3 if args.head_word_order else 2) * d, 2 * d), nn.GELU(), nn.Linear(2 * d, ANSWERS))


model = VqaModel()
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
pixels = torch.randn(IMAGES, 3, 64, 64)
image_index = torch.arange(B) // PER_IMAGE
ids = torch.randint(1, VOCAB, (B, LENGTH))
labels = torch.randint(0, ANSWERS, (B,))


def step():
    with torch.autograd.profiler.record_function('forward'):
        cells = model.image(pixels)[image_index]
        text = model.text(ids)
        fused = model.fusion(cells, text, ids != 0)
        if model.text.order is not None:
            fused = torch.cat([fused, model.text.ordered(text, ids != 0)], 1)
        logits = model.head(fused)
        loss = F.cross_entropy(logits, labels)
    with torch.autograd.profiler.record_function('backward'):
        loss.backward()
    with torch.autograd.profiler.record_function('adamw'):
        opt.step()
        opt.zero_grad(set_to_none=True)


for _ in range(3):
    step()
if args.profile:
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(5):
            step()
    print(prof.key_averages(group_by_input_shape=True).table(sort_by='self_cpu_time_total', row_limit=40))
ts, cpu = [], []
start = time.perf_counter()
while len(ts) < 15 and (len(ts) < 5 or time.perf_counter() - start < args.budget):
    t0, c0 = time.perf_counter(), time.process_time()
    step()
    ts.append((time.perf_counter() - t0) * 1000)
    cpu.append((time.process_time() - c0) * 1000)
ts.sort()
cpu.sort()
print(json.dumps({'medianMs': ts[len(ts) // 2], 'reps': len(ts), 'minMs': ts[0], 'cpuMedianMs': cpu[len(cpu) // 2]}))
