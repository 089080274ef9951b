"""The PyTorch side of tools/bench/optimizer.ts: torch.optim.AdamW(foreach=True) and
torch.optim.SGD(foreach=True) steps over a list of tensors of the given sizes, at the given
thread count. A benchmark baseline only (Debian's python3-torch), never a test dependency.

  python3 torch_optimizer.py --sizes 151936,896,... --threads 2 --steps 3
prints one JSON line: {"torch": ..., "threads": ..., "params": ..., "adamw_s": [...],
"adamw_loop_s": [...] (foreach=False, torch 1.13's CPU default), "sgd_s": [...]}
"""

import argparse
import json
import time

import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", required=True, help="comma-separated element counts, one per tensor")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--steps", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    gen = torch.Generator().manual_seed(1)
    params = []
    for n in sizes:
        p = torch.nn.Parameter(torch.randn(n, generator=gen))
        p.grad = torch.randn(n, generator=gen) * 0.01
        params.append(p)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "params": sum(sizes)}
    # The bench's AdamW hyper-parameters (the trainer's defaults); the step count starts at 1.
    # foreach=False is torch 1.13's default on a CPU: one tensor at a time, no list temporaries.
    # Each optimizer is built after the previous one is gone, so one AdamW state at a time.
    factories = (
        ("adamw_s", lambda: torch.optim.AdamW(params, lr=2e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, foreach=True)),
        ("adamw_loop_s", lambda: torch.optim.AdamW(params, lr=2e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, foreach=False)),
        ("sgd_s", lambda: torch.optim.SGD(params, lr=2e-5, weight_decay=0.01, foreach=True)),
    )
    for name, make in factories:
        opt = make()
        opt.step()  # warm-up (allocates AdamW's state)
        times, cpu = [], []
        for _ in range(args.steps):
            c = time.process_time()  # every thread of the process
            t = time.perf_counter()
            opt.step()
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        out[name] = times
        out[name.replace("_s", "_cpu_s")] = cpu
        del opt
    print(json.dumps(out))


if __name__ == "__main__":
    main()
