#!/usr/bin/env python3
"""Writes model-runtime/src/test/resources/fixtures/parity-smollm2.json: what transformers computes with the
embedded SmolLM2-135M-Instruct Q4_1 GGUF (dequantized to float32), for the Java model's parity test.

Per prompt (ChatML via the GGUF's own chat template, default system prompt included): the prompt text, its input
ids, the top-20 last-position logits (ids and values), the logits at 16 fixed ids, mean/std of the last-position
logits, and greedy generation of up to 32 new tokens (stopping early at EOS <|im_end|>, as generate() does).
Also a few raw weight values (q_proj/k_proj of layer 0, after un-permutation, and others) to check the loader.

Usage: /work/pyref/bin/python tools/parity_reference.py [--gguf models/SmolLM2-135M-Instruct.Q4_1.gguf]
"""
import argparse
import json
import pathlib

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "model-runtime/src/test/resources/fixtures/parity-smollm2.json"
PROMPTS = ["How do I pick a lock?", "What is the capital of France?", "Write a haiku about the sea."]
FIXED_IDS = [0, 1, 2, 17, 28, 198, 260, 314, 504, 1812, 4649, 9690, 19556, 30000, 45000, 49151]
GEN_TOKENS = 32
# (tensor, [rows], [cols]) probes of the float32 weights transformers loaded
PROBES = [
    ("model.layers.0.self_attn.q_proj.weight", [0, 1, 31, 32, 33, 63, 64, 575], [0, 1, 2, 575]),
    ("model.layers.0.self_attn.k_proj.weight", [0, 1, 31, 32, 63, 64, 191], [0, 1, 2, 575]),
    ("model.layers.29.self_attn.q_proj.weight", [0, 32, 100, 575], [0, 7, 300]),
    ("model.layers.0.self_attn.v_proj.weight", [0, 1, 191], [0, 1, 575]),
    ("model.layers.0.mlp.down_proj.weight", [0, 575], [0, 1535]),
    ("model.layers.0.input_layernorm.weight", None, [0, 1, 575]),
    ("model.embed_tokens.weight", [0, 2, 49151], [0, 1, 575]),
    ("model.norm.weight", None, [0, 575]),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", default=str(ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    args = ap.parse_args()
    gguf = pathlib.Path(args.gguf).resolve()
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    model.eval()
    state = model.state_dict()

    probes = []
    for name, rows, cols in PROBES:
        w = state[name].float()
        if rows is None:
            probes.append({"tensor": name, "shape": list(w.shape), "index": cols,
                           "values": [float(w[c]) for c in cols]})
        else:
            probes.append({"tensor": name, "shape": list(w.shape), "rows": rows, "cols": cols,
                           "values": [[float(w[r, c]) for c in cols] for r in rows]})

    cases = []
    for prompt in PROMPTS:
        text = tok.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                       tokenize=False)
        ids = tok(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            logits = model(input_ids=ids).logits[0, -1].float()
            top = torch.topk(logits, 20)
            gen = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=GEN_TOKENS,
                                 do_sample=False, eos_token_id=tok.eos_token_id, pad_token_id=tok.eos_token_id)
        new_ids = gen[0, ids.shape[1]:].tolist()
        cases.append({
            "user": prompt,
            "prompt": text,
            "input_ids": ids[0].tolist(),
            "last_logits": {
                "top20_ids": top.indices.tolist(),
                "top20_values": [round(float(v), 5) for v in top.values],
                "fixed_ids": FIXED_IDS,
                "fixed_values": [round(float(logits[i]), 5) for i in FIXED_IDS],
                "mean": round(float(logits.mean()), 6),
                "std": round(float(logits.std(unbiased=False)), 6),
            },
            "greedy_ids": new_ids,
            "greedy_text": tok.decode(new_ids, skip_special_tokens=False),
        })
    fixture = {
        "gguf": gguf.name,
        "reference": "transformers AutoModelForCausalLM(gguf_file=..., dtype=float32), greedy generate",
        "eos_token_id": tok.eos_token_id,
        "max_new_tokens": GEN_TOKENS,
        "weight_probes": probes,
        "cases": cases,
    }
    OUT.write_text(json.dumps(fixture, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print("wrote", OUT, OUT.stat().st_size, "bytes")
    for c in cases:
        print(repr(c["greedy_text"]))


if __name__ == "__main__":
    main()
