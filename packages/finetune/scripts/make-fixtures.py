"""Generates the PyTorch fixtures for @polymodal/finetune's tests.

Run once (needs torch; Debian's python3-torch is under the system interpreter):
    OMP_NUM_THREADS=1 /usr/bin/python3 scripts/make-fixtures.py
The committed fixtures were made with torch 1.13 (Debian bookworm).
Writes fixtures/optimizers.json and fixtures/schedulers.json.

Optimizers: a few params and fixed gradients per step (deterministic sin/cos formulas, so no RNG
is involved), 5 steps of each config with torch.optim (foreach=False: the single-tensor path
whose update order the TypeScript port follows).

Schedules: `transformers` is not installed here, so Hugging Face's lambdas are re-derived below
from transformers/optimization.py (function names cited on each); they run through torch's own
LambdaLR. StepLR, MultiStepLR, OneCycleLR, SequentialLR, ChainedScheduler, ReduceLROnPlateau are
torch's own classes.
"""

import json
import math
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures")
os.makedirs(OUT, exist_ok=True)
torch.set_default_dtype(torch.float32)


def values(shape, phase):
    n = 1
    for s in shape:
        n *= s
    return torch.tensor([math.sin(0.7 * i + phase) * (1 + 0.1 * i) for i in range(n)], dtype=torch.float32).reshape(shape)


PARAM_SHAPES = {"w": [3, 4], "b": [4]}


def grad_for(name, step):
    shape = PARAM_SHAPES[name]
    return values(shape, 1.3 * step + (0.5 if name == "b" else 0.0)) * 0.5


def run_optimizer(kind, groups_spec, defaults, steps=5):
    params = {k: values(s, 0.1 if k == "w" else 2.0).clone().requires_grad_(True) for k, s in PARAM_SHAPES.items()}
    groups = [{**{k: v for k, v in g.items() if k != "params"}, "params": [params[n] for n in g["params"]]} for g in groups_spec]
    cls = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW}[kind]
    opt = cls(groups, foreach=False, **defaults)
    history = []
    for step in range(steps):
        for n, p in params.items():
            p.grad = grad_for(n, step)
        opt.step()
        history.append({n: p.detach().reshape(-1).tolist() for n, p in params.items()})
    return history


OPT_CONFIGS = [
    ("sgd-plain", "SGD", [{"params": ["w", "b"]}], {"lr": 0.1}),
    ("sgd-momentum-dampening-wd", "SGD", [{"params": ["w", "b"]}], {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
    ("sgd-nesterov-wd", "SGD", [{"params": ["w", "b"]}], {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("sgd-maximize", "SGD", [{"params": ["w", "b"]}], {"lr": 0.05, "momentum": 0.5, "maximize": True}),
    ("adam-default", "Adam", [{"params": ["w", "b"]}], {"lr": 0.01}),
    ("adam-l2-amsgrad", "Adam", [{"params": ["w", "b"]}], {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("adamw-default", "AdamW", [{"params": ["w", "b"]}], {"lr": 0.01}),
    ("adamw-betas-eps-amsgrad", "AdamW", [{"params": ["w", "b"]}], {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1, "amsgrad": True}),
    ("adamw-two-groups", "AdamW", [{"params": ["w"], "weight_decay": 0.1, "lr": 0.03}, {"params": ["b"], "weight_decay": 0.0}], {"lr": 0.01}),
]

optimizers = {
    "initial": {n: values(s, 0.1 if n == "w" else 2.0).reshape(-1).tolist() for n, s in PARAM_SHAPES.items()},
    "shapes": PARAM_SHAPES,
    "grads": [{n: grad_for(n, step).reshape(-1).tolist() for n in PARAM_SHAPES} for step in range(5)],
    "configs": [],
}
for name, kind, groups, defaults in OPT_CONFIGS:
    optimizers["configs"].append(
        {"name": name, "kind": kind, "groups": groups, "defaults": {k: list(v) if isinstance(v, tuple) else v for k, v in defaults.items()}, "history": run_optimizer(kind, groups, defaults)}
    )
with open(os.path.join(OUT, "optimizers.json"), "w") as f:
    json.dump(optimizers, f)


# ---- Hugging Face schedule lambdas, re-derived from transformers/optimization.py ---------------


def hf_constant(step):  # get_constant_schedule
    return 1.0


def hf_constant_with_warmup(step, *, num_warmup_steps):  # get_constant_schedule_with_warmup
    if step < num_warmup_steps:
        return float(step) / float(max(1.0, num_warmup_steps))
    return 1.0


def hf_linear(step, *, num_warmup_steps, num_training_steps):  # get_linear_schedule_with_warmup
    if step < num_warmup_steps:
        return float(step) / float(max(1, num_warmup_steps))
    return max(0.0, float(num_training_steps - step) / float(max(1, num_training_steps - num_warmup_steps)))


def hf_cosine(step, *, num_warmup_steps, num_training_steps, num_cycles=0.5):  # get_cosine_schedule_with_warmup
    if step < num_warmup_steps:
        return float(step) / float(max(1, num_warmup_steps))
    progress = float(step - num_warmup_steps) / float(max(1, num_training_steps - num_warmup_steps))
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))


def hf_cosine_restarts(step, *, num_warmup_steps, num_training_steps, num_cycles=1):  # get_cosine_with_hard_restarts_schedule_with_warmup
    if step < num_warmup_steps:
        return float(step) / float(max(1, num_warmup_steps))
    progress = float(step - num_warmup_steps) / float(max(1, num_training_steps - num_warmup_steps))
    if progress >= 1.0:
        return 0.0
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * ((float(num_cycles) * progress) % 1.0))))


def hf_polynomial(step, *, num_warmup_steps, num_training_steps, lr_end=1e-7, power=1.0, lr_init):  # get_polynomial_decay_schedule_with_warmup
    if step < num_warmup_steps:
        return float(step) / float(max(1, num_warmup_steps))
    elif step > num_training_steps:
        return lr_end / lr_init
    lr_range = lr_init - lr_end
    decay_steps = num_training_steps - num_warmup_steps
    pct_remaining = 1 - (step - num_warmup_steps) / decay_steps
    decay = lr_range * pct_remaining**power + lr_end
    return decay / lr_init


def hf_inverse_sqrt(step, *, num_warmup_steps, timescale=None):  # get_inverse_sqrt_schedule
    if timescale is None:
        timescale = num_warmup_steps or 10_000
    if step < num_warmup_steps:
        return float(step) / float(max(1, num_warmup_steps))
    shift = timescale - num_warmup_steps
    return 1.0 / math.sqrt((step + shift) / timescale)


def hf_cosine_min_lr(step, *, num_warmup_steps, num_training_steps, num_cycles=0.5, min_lr_rate):  # get_cosine_with_min_lr_schedule_with_warmup
    if step < num_warmup_steps:
        return float(step) / float(max(1, num_warmup_steps))
    progress = float(step - num_warmup_steps) / float(max(1, num_training_steps - num_warmup_steps))
    factor = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))
    factor = factor * (1 - min_lr_rate) + min_lr_rate
    return max(0, factor)


def hf_wsd(step, *, num_warmup_steps, num_stable_steps, num_decay_steps, warmup_type="linear", decay_type="cosine", min_lr_ratio=0.0, num_cycles=0.5):  # get_wsd_schedule
    if step < num_warmup_steps:
        progress = float(step) / float(max(1, num_warmup_steps))
        if warmup_type == "linear":
            factor = progress
        elif warmup_type == "cosine":
            factor = 0.5 * (1.0 - math.cos(math.pi * progress))
        else:  # "1-sqrt"
            factor = 1.0 - math.sqrt(1.0 - progress)
        factor = factor * (1.0 - min_lr_ratio) + min_lr_ratio
        return max(0.0, factor)
    if step < num_warmup_steps + num_stable_steps:
        return 1.0
    if step < num_warmup_steps + num_stable_steps + num_decay_steps:
        progress = float(step - num_warmup_steps - num_stable_steps) / float(max(1, num_decay_steps))
        if decay_type == "linear":
            factor = 1.0 - progress
        elif decay_type == "cosine":
            factor = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))
        else:  # "1-sqrt"
            factor = 1.0 - math.sqrt(progress)
        factor = factor * (1.0 - min_lr_ratio) + min_lr_ratio
        return max(0.0, factor)
    return min_lr_ratio


BASE_LRS = [0.1, 0.01]


def make_opt(momentum=False):
    ps = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    groups = [{"params": [ps[0]], "lr": BASE_LRS[0]}, {"params": [ps[1]], "lr": BASE_LRS[1]}]
    if momentum:
        return torch.optim.SGD(groups, lr=BASE_LRS[0], momentum=0.9)
    return torch.optim.AdamW(groups, lr=BASE_LRS[0])


def trace(sched, opt, steps, metrics=None):
    """lr of every group after construction and after each of `steps` step() calls (+ momentum/beta1)."""
    rows = []

    def snap():
        row = {"lr": [g["lr"] for g in opt.param_groups]}
        if "betas" in opt.param_groups[0]:
            row["beta1"] = [g["betas"][0] for g in opt.param_groups]
        if "momentum" in opt.param_groups[0]:
            row["momentum"] = [g["momentum"] for g in opt.param_groups]
        rows.append(row)

    snap()
    for i in range(steps):
        opt.step()
        if metrics is not None:
            sched.step(metrics[i])
        else:
            sched.step()
        snap()
    return rows


schedules = []
T, W = 20, 4
HF = [
    ("linear", {"numWarmupSteps": W, "numTrainingSteps": T}, lambda s: hf_linear(s, num_warmup_steps=W, num_training_steps=T)),
    ("cosine", {"numWarmupSteps": W, "numTrainingSteps": T}, lambda s: hf_cosine(s, num_warmup_steps=W, num_training_steps=T)),
    ("cosine", {"numWarmupSteps": W, "numTrainingSteps": T, "numCycles": 1.5}, lambda s: hf_cosine(s, num_warmup_steps=W, num_training_steps=T, num_cycles=1.5)),
    ("cosine_with_restarts", {"numWarmupSteps": W, "numTrainingSteps": T, "numCycles": 3}, lambda s: hf_cosine_restarts(s, num_warmup_steps=W, num_training_steps=T, num_cycles=3)),
    ("polynomial", {"numWarmupSteps": W, "numTrainingSteps": T, "lrEnd": 1e-4, "power": 2.0}, lambda s: hf_polynomial(s, num_warmup_steps=W, num_training_steps=T, lr_end=1e-4, power=2.0, lr_init=BASE_LRS[0])),
    ("constant", {}, hf_constant),
    ("constant_with_warmup", {"numWarmupSteps": W}, lambda s: hf_constant_with_warmup(s, num_warmup_steps=W)),
    ("inverse_sqrt", {"numWarmupSteps": W}, lambda s: hf_inverse_sqrt(s, num_warmup_steps=W)),
    ("inverse_sqrt", {"numWarmupSteps": W, "timescale": 7}, lambda s: hf_inverse_sqrt(s, num_warmup_steps=W, timescale=7)),
    ("cosine_with_min_lr", {"numWarmupSteps": W, "numTrainingSteps": T, "minLrRate": 0.1}, lambda s: hf_cosine_min_lr(s, num_warmup_steps=W, num_training_steps=T, min_lr_rate=0.1)),
    ("cosine_with_min_lr", {"numWarmupSteps": W, "numTrainingSteps": T, "minLr": 0.002}, lambda s: hf_cosine_min_lr(s, num_warmup_steps=W, num_training_steps=T, min_lr_rate=0.002 / BASE_LRS[0])),
    ("warmup_stable_decay", {"numWarmupSteps": W, "numTrainingSteps": T, "numDecaySteps": 6, "minLrRatio": 0.05}, lambda s: hf_wsd(s, num_warmup_steps=W, num_stable_steps=T - W - 6, num_decay_steps=6, min_lr_ratio=0.05)),
    ("warmup_stable_decay", {"numWarmupSteps": W, "numStableSteps": 5, "numDecaySteps": 8, "warmupType": "cosine", "decayType": "1-sqrt"}, lambda s: hf_wsd(s, num_warmup_steps=W, num_stable_steps=5, num_decay_steps=8, warmup_type="cosine", decay_type="1-sqrt")),
    ("warmup_stable_decay", {"numWarmupSteps": W, "numStableSteps": 5, "numDecaySteps": 8, "warmupType": "1-sqrt", "decayType": "linear"}, lambda s: hf_wsd(s, num_warmup_steps=W, num_stable_steps=5, num_decay_steps=8, warmup_type="1-sqrt", decay_type="linear")),
]
for name, opts, fn in HF:
    opt = make_opt()
    sched = torch.optim.lr_scheduler.LambdaLR(opt, fn)
    schedules.append({"kind": "hf", "name": name, "options": opts, "trace": trace(sched, opt, T + 3)})

opt = make_opt()
schedules.append({"kind": "StepLR", "options": {"stepSize": 3, "gamma": 0.5}, "trace": trace(torch.optim.lr_scheduler.StepLR(opt, 3, gamma=0.5), opt, 12)})
opt = make_opt()
schedules.append({"kind": "MultiStepLR", "options": {"milestones": [2, 5, 5, 9], "gamma": 0.3}, "trace": trace(torch.optim.lr_scheduler.MultiStepLR(opt, [2, 5, 5, 9], gamma=0.3), opt, 12)})
for three_phase, anneal, momentum in [(False, "cos", False), (True, "linear", True), (False, "cos", True)]:
    opt = make_opt(momentum=momentum)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[0.5, 0.05], total_steps=15, pct_start=0.3, anneal_strategy=anneal, three_phase=three_phase)
    schedules.append({"kind": "OneCycleLR", "optimizer": "SGD" if momentum else "AdamW", "options": {"maxLr": [0.5, 0.05], "totalSteps": 15, "pctStart": 0.3, "annealStrategy": anneal, "threePhase": three_phase}, "trace": trace(sched, opt, 14)})
opt = make_opt()
s1 = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: hf_constant_with_warmup(s, num_warmup_steps=3))
s2 = torch.optim.lr_scheduler.StepLR(opt, 2, gamma=0.5)
schedules.append({"kind": "SequentialLR", "options": {"warmup": 3, "stepSize": 2, "gamma": 0.5, "milestones": [3]}, "trace": trace(torch.optim.lr_scheduler.SequentialLR(opt, [s1, s2], milestones=[3]), opt, 10)})
opt = make_opt()
c1 = torch.optim.lr_scheduler.StepLR(opt, 3, gamma=0.5)
c2 = torch.optim.lr_scheduler.MultiStepLR(opt, [4, 7], gamma=0.1)
schedules.append({"kind": "ChainedScheduler", "options": {"stepSize": 3, "gamma": 0.5, "milestones": [4, 7], "gamma2": 0.1}, "trace": trace(torch.optim.lr_scheduler.ChainedScheduler([c1, c2]), opt, 10)})
opt = make_opt()
metrics = [1.0, 0.9, 0.9, 0.95, 0.91, 0.9, 0.8, 0.85, 0.85, 0.85, 0.85, 0.85, 0.1, 0.2, 0.2, 0.2, 0.2]
schedules.append({"kind": "ReduceLROnPlateau", "options": {"patience": 2, "factor": 0.5, "cooldown": 1, "minLr": 0.004}, "metrics": metrics, "trace": trace(torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=2, factor=0.5, cooldown=1, min_lr=0.004), opt, len(metrics), metrics)})

with open(os.path.join(OUT, "schedulers.json"), "w") as f:
    json.dump({"baseLrs": BASE_LRS, "torch": torch.__version__, "schedules": schedules}, f)
print("wrote fixtures with torch", torch.__version__)
