"""PyTorch twin of tensor-bench.mjs: same shapes, median ms as JSON lines on stdout."""
import json, os, sys, time
import torch

torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))


def measure(fn, min_reps=3, max_reps=15, budget=3.0):
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < max_reps and (len(times) < min_reps or time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"medianMs": times[len(times) // 2], "reps": len(times), "minMs": times[0]}


def emit(bench, flops, m):
    print(json.dumps({"bench": bench, "impl": "pytorch", "flops": flops, **m}), flush=True)


g = torch.Generator().manual_seed(0)
for n in [128, 256, 512, 1024]:
    a = torch.randn(n, n, generator=g)
    b = torch.randn(n, n, generator=g)
    emit(f"matmul {n}x{n}", 2 * n**3, measure(lambda: torch.matmul(a, b)))

x = torch.randn(4096, 1024, generator=g)
emit("softmax 4096x1024", None, measure(lambda: torch.softmax(x, -1)))
w = torch.randn(1024, generator=g)
bias = torch.randn(1024, generator=g)
emit("layerNorm 4096x1024", None, measure(lambda: torch.nn.functional.layer_norm(x, (1024,), w, bias)))

xm = torch.randn(256, 512, generator=g)
w1 = torch.randn(512, 1024, generator=g).mul_(0.05).requires_grad_()
w2 = torch.randn(1024, 512, generator=g).mul_(0.05).requires_grad_()


def mlp_step():
    loss = torch.relu(xm @ w1).matmul(w2).square().mean()
    loss.backward()
    w1.grad = None
    w2.grad = None


emit("mlp fwd+bwd 256x512-1024-512", 6 * 256 * (512 * 1024 + 1024 * 512), measure(mlp_step))
# Debian's torch links the system libblas.so.3; the alternative it resolves to is the BLAS in use.
blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
print(json.dumps({"config": {"torch": torch.__version__, "threads": torch.get_num_threads(),
                              "blas": blas if os.path.exists(blas) else "unknown"}}))
