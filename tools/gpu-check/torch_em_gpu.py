#!/usr/bin/env python3
"""PyTorch + transformers baseline of one One-shot EM step on a GPU (benchmark only; never a
dependency of npm test). It times the step the way issue 13's numbers were measured:

  rollout    one KV-cache `generate` of --batch prompts x --new-tokens tokens (sampling at
             temperature 0.5, top-p 0.95, repetition penalty 1.15, no top-k; EOS held off with
             min_new_tokens so every row runs all tokens, as the bench's completions do)
  loss_grad  per micro-batch of --micro-batch rows of those rollouts: forward, mean token entropy
             of softmax(logits / 0.5) over the completion positions (t >= P, ids != pad),
             backward; gradients accumulated, each micro-batch loss divided by their count
  optimizer  clip_grad_norm_(1.0) and torch.optim.AdamW(fused=True), lr 2e-5, wd 0.01
             (the second step: the first allocates the optimizer state; both are reported)

plus decode tokens/s at batch 1 and at --batch (t(G) - t(1) over G - 1 tokens) and the peak of
torch.cuda.max_memory_allocated. The model is a random Qwen2ForCausalLM of the bench shape that
--config names (tools/gpu-check/model-config.ts writes it), in --dtype (bf16 default). One JSON
object goes to --json and stdout.
"""
import argparse
import json
import os
import sys
import time


def fail(msg, code=2):
    print(f"torch_em_gpu.py: {msg}", file=sys.stderr)
    sys.exit(code)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True, help="JSON from tools/gpu-check/model-config.ts")
    ap.add_argument("--json", help="write the result here too")
    ap.add_argument("--batch", type=int, default=64, help="completions per step (effective batch)")
    ap.add_argument("--micro-batch", type=int, default=4)
    ap.add_argument("--prompt-tokens", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=512)
    ap.add_argument("--decode-tokens", type=int, default=128, help="tokens of the batch-1 decode timing")
    ap.add_argument("--dtype", choices=["bf16", "f16", "f32"], default="bf16")
    ap.add_argument("--device", default="auto", help="cuda, cpu or auto (cuda when available)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.batch % a.micro_batch != 0:
        fail(f"--batch {a.batch} is not a multiple of --micro-batch {a.micro_batch}")
    for name in ("batch", "micro_batch", "prompt_tokens", "new_tokens", "decode_tokens"):
        if getattr(a, name) < 1:
            fail(f"--{name.replace('_', '-')} {getattr(a, name)}: expected a positive integer")
    try:
        req = json.load(open(a.config))
        c = req["config"]
    except (OSError, ValueError, KeyError) as e:
        fail(f"--config {a.config}: expected model-config.ts JSON with a 'config' object ({e})")
    try:
        import torch
        import transformers
        from transformers import Qwen2Config, Qwen2ForCausalLM
    except ImportError as e:
        fail(f"needs torch and transformers for {sys.executable} ({e})", 3)

    dev = torch.device("cuda" if a.device == "auto" and torch.cuda.is_available() else
                       ("cpu" if a.device == "auto" else a.device))
    dtype = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}[a.dtype]
    cuda = dev.type == "cuda"
    torch.manual_seed(a.seed)

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def clock():
        sync()
        return time.perf_counter()

    pad = int(req.get("pad_id", 0))
    eos = (c.get("eosTokenIds") or [2])[0]
    hf = Qwen2Config(
        vocab_size=c["vocabSize"],
        hidden_size=c["hiddenSize"],
        intermediate_size=c["intermediateSize"],
        num_hidden_layers=c["numLayers"],
        num_attention_heads=c["numHeads"],
        num_key_value_heads=c["numKvHeads"],
        max_position_embeddings=c["maxPositionEmbeddings"],
        rms_norm_eps=c["rmsNormEps"],
        rope_theta=c["ropeTheta"],
        tie_word_embeddings=c["tieWordEmbeddings"],
        pad_token_id=pad,
        eos_token_id=eos,
        bos_token_id=None,
    )
    t0 = time.perf_counter()
    try:  # initialise in the target dtype, on the device (a 7B f32 copy first would be 30 GB)
        torch.set_default_dtype(dtype)
        with dev:
            model = Qwen2ForCausalLM(hf)
    except (TypeError, RuntimeError):
        torch.set_default_dtype(torch.float32)
        with dev:
            model = Qwen2ForCausalLM(hf).to(dtype)
    torch.set_default_dtype(torch.float32)
    model.train()
    build_s = time.perf_counter() - t0
    params = sum(p.numel() for p in model.parameters())

    V, P, G, B, M = c["vocabSize"], a.prompt_tokens, a.new_tokens, a.batch, a.micro_batch
    gen = torch.Generator(device="cpu").manual_seed(a.seed + 1)
    prompts = torch.randint(3, V, (B, P), generator=gen).to(dev)

    def generate(rows, n):
        with torch.no_grad():
            return model.generate(
                input_ids=rows,
                attention_mask=torch.ones_like(rows),
                do_sample=True,
                temperature=0.5,
                top_p=0.95,
                top_k=0,
                repetition_penalty=1.15,
                max_new_tokens=n,
                min_new_tokens=n,
                pad_token_id=pad,
                eos_token_id=eos,
                use_cache=True,
            )

    def decode_rate(rows, n):
        """tokens/s of decoding: t(n) - t(1) over n - 1 tokens per row"""
        generate(rows, 2)  # warm-up (kernels, cuBLAS handles)
        t = clock()
        generate(rows, 1)
        t1 = clock() - t
        t = clock()
        out = generate(rows, n)
        tn = clock() - t
        return rows.shape[0] * (n - 1) / max(tn - t1, 1e-9), t1, tn, out

    def loss_of(ids):
        mask = (ids != pad).long()
        logits = model(input_ids=ids, attention_mask=mask).logits.float() / 0.5
        logp = torch.log_softmax(logits, -1)
        entropy = -(logp.exp() * logp).sum(-1)
        keep = mask.float()
        keep[:, :P] = 0
        return (entropy * keep).sum() / keep.sum()

    if cuda:
        torch.cuda.reset_peak_memory_stats()
    result = {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "device": torch.cuda.get_device_name(dev) if cuda else "cpu",
        "dtype": a.dtype,
        "model": req.get("name"),
        "params": params,
        "workload": {"batch": B, "micro_batch": M, "prompt_tokens": P, "new_tokens": G},
        "build_s": build_s,
    }
    # rollout: the batch's real generate, also the decode rate at batch B
    rate_b, t1_b, rollout_s, rollouts = decode_rate(prompts, G)
    result["rollout_s"] = rollout_s
    result["decode_tokens_per_s_batch"] = rate_b
    result["prefill_s_batch"] = t1_b
    rate_1, _, _, _ = decode_rate(prompts[:1], a.decode_tokens)
    result["decode_tokens_per_s_1"] = rate_1

    opt = torch.optim.AdamW(model.parameters(), lr=2e-5, betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=0.01, fused=cuda)
    count = B // M
    # warm-up micro-batch (kernel selection), then the timed accumulation
    loss_of(rollouts[:M]).backward()
    model.zero_grad(set_to_none=True)
    steps = []
    for step in range(2):
        t = clock()
        loss_sum = 0.0
        for k in range(count):
            loss = loss_of(rollouts[k * M:(k + 1) * M]) / count
            loss.backward()
            loss_sum += loss.item()
        t_loss = clock()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        t_opt = clock()
        steps.append({"loss": loss_sum, "grad_norm": float(norm), "loss_grad_s": t_loss - t,
                      "optimizer_s": t_opt - t_loss})
    result["loss"] = steps[0]["loss"]
    result["grad_norm"] = steps[0]["grad_norm"]
    result["loss_grad_s"] = min(s["loss_grad_s"] for s in steps)
    result["optimizer_first_s"] = steps[0]["optimizer_s"]
    result["optimizer_s"] = steps[1]["optimizer_s"]
    result["step_s"] = rollout_s + result["loss_grad_s"] + result["optimizer_s"]
    result["peak_device_bytes"] = torch.cuda.max_memory_allocated(dev) if cuda else None
    result["threads"] = torch.get_num_threads()
    result["cpus"] = os.cpu_count()
    text = json.dumps(result, indent=2)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
