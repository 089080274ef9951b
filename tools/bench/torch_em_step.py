#!/usr/bin/env python3
"""PyTorch CPU baseline of one One-shot EM step (benchmark only; never part of npm test).

Reads a JSON request from --request (written by tools/bench/bench.ts):
  {"config": <the bench's ModelConfig>, "rows": [{"promptIds": [...], "completionIds": [...]}],
   "pad_id": 0, "temperature": 0.5, "optimizer": {...}, "clip": 1.0, "steps": 2, "seed": 1}
builds a random fp32 model of that shape (the same architecture as core's model/forward.ts:
RMSNorm, rotate-half RoPE, GQA attention with optional q/k/v and o biases, SwiGLU MLP, tied or
untied head), and runs `steps` EM steps on the given completions exactly as the trainer does:
left-padded prompts + right-padded completions, attention mask = ids != pad, HF positions,
token entropy of softmax(logits / T) averaged over positions t >= P whose id != pad,
backward, clip_grad_norm_, AdamW. The first step warms up; prints one JSON line with the phase
seconds of the fastest later step (the least disturbed on a shared machine).
"""
import argparse
import json
import math
import os
import time

import torch
import torch.nn.functional as F


def build_batch(rows, pad):
    P = max(len(r["promptIds"]) for r in rows)
    G = max(1, max(len(r["completionIds"]) for r in rows))
    B, T = len(rows), P + G
    ids = torch.full((B, T), pad, dtype=torch.long)
    for b, r in enumerate(rows):
        p, c = r["promptIds"], r["completionIds"]
        ids[b, P - len(p) : P] = torch.tensor(p)
        ids[b, P : P + len(c)] = torch.tensor(c, dtype=torch.long)
    mask = (ids != pad).long()
    positions = (mask.cumsum(1) - 1).clamp(min=0)
    return ids, mask, positions, P


class Model(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        C, F_, V = c["hiddenSize"], c["intermediateSize"], c["vocabSize"]
        H, K, D = c["numHeads"], c["numKvHeads"], c["headDim"]

        def lin(out_f, in_f, bias):
            return torch.nn.Linear(in_f, out_f, bias=bias)

        self.embed = torch.nn.Embedding(V, C)
        self.layers = torch.nn.ModuleList()
        for _ in range(c["numLayers"]):
            layer = torch.nn.ModuleDict(
                {
                    "q": lin(H * D, C, c["qkvBias"]),
                    "k": lin(K * D, C, c["qkvBias"]),
                    "v": lin(K * D, C, c["qkvBias"]),
                    "o": lin(C, H * D, c["oBias"]),
                    "gate": lin(F_, C, False),
                    "up": lin(F_, C, False),
                    "down": lin(C, F_, False),
                }
            )
            layer.ln1 = torch.nn.Parameter(torch.ones(C))
            layer.ln2 = torch.nn.Parameter(torch.ones(C))
            self.layers.append(layer)
        self.norm = torch.nn.Parameter(torch.ones(C))
        self.head = None if c["tieWordEmbeddings"] else lin(V, C, False)
        with torch.no_grad():
            for p in self.parameters():
                if p.dim() == 2:
                    p.normal_(0, 1 / math.sqrt(p.shape[1]))
                elif p.dim() == 1 and not torch.all(p == 1):
                    p.normal_(0, 0.1)

    def rms(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.c["rmsNormEps"]) * w

    def rope(self, x, positions):  # x [B, T, heads, D], rotate-half
        D = x.shape[-1]
        inv = 1.0 / (self.c["ropeTheta"] ** (torch.arange(0, D, 2, dtype=torch.float32) / D))
        ang = positions.float()[..., None] * inv  # [B, T, D/2]
        cos = torch.cat([ang.cos(), ang.cos()], -1)[:, :, None, :]
        sin = torch.cat([ang.sin(), ang.sin()], -1)[:, :, None, :]
        x1, x2 = x[..., : D // 2], x[..., D // 2 :]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    def forward(self, ids, mask, positions):
        c = self.c
        B, T = ids.shape
        H, K, D = c["numHeads"], c["numKvHeads"], c["headDim"]
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        attn_mask = causal[None, None] & mask.bool()[:, None, None, :]
        # a row with no visible key (left padding) attends to nothing: let it see itself
        attn_mask = attn_mask | torch.eye(T, dtype=torch.bool)[None, None]
        h = self.embed(ids)
        for L in self.layers:
            x = self.rms(h, L.ln1)
            q = self.rope(L["q"](x).view(B, T, H, D), positions).transpose(1, 2)
            k = self.rope(L["k"](x).view(B, T, K, D), positions).transpose(1, 2)
            v = L["v"](x).view(B, T, K, D).transpose(1, 2)
            k = k.repeat_interleave(H // K, dim=1)
            v = v.repeat_interleave(H // K, dim=1)
            # torch 1.13 (Debian 12) has no scaled_dot_product_attention
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(D)
            a = torch.softmax(scores.masked_fill(~attn_mask, float("-inf")), -1) @ v
            h = h + L["o"](a.transpose(1, 2).reshape(B, T, H * D))
            x = self.rms(h, L.ln2)
            h = h + L["down"](F.silu(L["gate"](x)) * L["up"](x))
        h = self.rms(h, self.norm)
        w = self.embed.weight if self.head is None else self.head.weight
        return h @ w.t()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--request", required=True)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: every CPU this process may use)")
    args = ap.parse_args()
    req = json.load(open(args.request))
    # Debian's build starts with one OpenMP thread; ONNX Runtime uses every core by default
    torch.set_num_threads(args.threads if args.threads > 0 else len(os.sched_getaffinity(0)))
    torch.manual_seed(req.get("seed", 1))
    model = Model(req["config"])
    o = req["optimizer"]
    opt = torch.optim.AdamW(
        model.parameters(), lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"], weight_decay=o["weightDecay"]
    )
    ids, mask, positions, P = build_batch(req["rows"], req["pad_id"])
    loss_mask = (ids != req["pad_id"]).float()
    loss_mask[:, :P] = 0
    T_loss = req["temperature"]
    best = None
    for step in range(1, req["steps"] + 1):
        t0 = time.perf_counter()
        logits = model(ids, mask, positions) / T_loss
        logp = torch.log_softmax(logits, -1)
        entropy = -(logp.exp() * logp).sum(-1)
        loss = (entropy * loss_mask).sum() / loss_mask.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t1 = time.perf_counter()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), req["clip"])
        opt.step()
        t2 = time.perf_counter()
        out = {
            "step": step,
            "steps": req["steps"],
            "loss": loss.item(),
            "grad_norm": norm.item(),
            "loss_grad_s": t1 - t0,
            "optimizer_s": t2 - t1,
            "update_s": t2 - t0,
            "tokens": int(ids.numel()),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "params": sum(p.numel() for p in model.parameters()),
            "cpus": os.cpu_count(),
        }
        if step > 1 or req["steps"] == 1:
            if best is None or out["update_s"] < best["update_s"]:
                best = out
    print(json.dumps(best))


if __name__ == "__main__":
    main()
