"""Golden values for GRU (src/gru.test.ts): torch.nn.GRU(batch_first=True), two layers, on a
right-padded batch packed with pack_padded_sequence, with its outputs, h_n and the gradients of a
fixed weighted sum of both. Run with Debian's python3-torch: /usr/bin/python3 scripts/make-gru-fixture.py
"""
import json, os
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures")
torch.manual_seed(7)
gru = nn.GRU(3, 4, num_layers=2, batch_first=True)
x = torch.randn(3, 5, 3, requires_grad=True)
lengths = [5, 3, 1]
packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
out, h_n = gru(packed)
out, _ = pad_packed_sequence(out, batch_first=True, total_length=5)
w_out, w_h = torch.randn(out.shape), torch.randn(h_n.shape)
((out * w_out).sum() + (h_n * w_h).sum()).backward()
enc = lambda t: {"shape": list(t.shape), "data": t.detach().flatten().tolist()}
json.dump({
    "torch": torch.__version__,
    "lengths": lengths,
    "x": enc(x), "xGrad": enc(x.grad),
    "state": {k: enc(v) for k, v in gru.state_dict().items()},
    "grads": {k: enc(p.grad) for k, p in gru.named_parameters()},
    "output": enc(out), "hidden": enc(h_n),
    "weightOutput": enc(w_out), "weightHidden": enc(w_h),
}, open(os.path.join(OUT, "gru.json"), "w"))
