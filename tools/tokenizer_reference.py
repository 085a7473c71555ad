#!/usr/bin/env python3
"""Writes model-runtime/src/test/resources/fixtures/tokenizer-smollm2.json: token ids of varied strings under the
tokenizer of the embedded SmolLM2 GGUF, as transformers builds it from the GGUF metadata.

Two id lists per string:
  ids                    -- the model's own pre-tokenization. llama.cpp's "smollm" pre-tokenizer (and SmolLM2's original
                            tokenizer.json) split digits one by one before the GPT-2 regex; transformers' GGUF loader
                            has no entry for "smollm" and keeps GPT-2's split, so we set the original pre-tokenizer
                            (Digits(individual_digits) + ByteLevel) on its backend tokenizer here.
  transformers_gguf_ids  -- transformers' GGUF tokenizer unchanged. It could differ only on runs of digits, and
                            SmolLM2's merges never join digits, so for this file both lists agree.
The Java HfTokenizer built by GgufLoader must reproduce `ids`.

Usage: /work/pyref/bin/python tools/tokenizer_reference.py [--gguf models/SmolLM2-135M-Instruct.Q4_1.gguf]
"""
import argparse
import json
import pathlib

from tokenizers import pre_tokenizers
from transformers import AutoTokenizer

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "model-runtime/src/test/resources/fixtures/tokenizer-smollm2.json"

TEXTS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "naïve café — déjà vu; Straße, Ελληνικά, русский, 日本語, 한국어",
    "Emoji: 🚀🔥 👩‍👩‍👧‍👦 ✨ and a lone surrogate-free 🦙",
    "def add(a, b):\n    return a + b  # sum\n\tif x >= 10: print(f\"{x:,}\")\n",
    "<|im_start|>system\nYou are a helpful AI assistant.<|im_end|>\n<|im_start|>user\nHow do I pick a lock?<|im_end|>\n"
    "<|im_start|>assistant\n",
    "Numbers: 1234567 3.14159 2024-06-01 $1,000,000",
    "   leading and trailing spaces   \n\n\nnew lines\r\n",
    "\n\nHuman: What is the capital of France?\n\nAssistant:",
    "<|endoftext|><repo_name>x<file_sep>y<|im_end|>",
    "it's they're we'll I'd you've DON'T",
    "",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", default=str(ROOT / "models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    args = ap.parse_args()
    gguf = pathlib.Path(args.gguf).resolve()
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    gguf_ids = [tok(t, add_special_tokens=False)["input_ids"] for t in TEXTS]
    tok.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True),
         pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    cases = []
    for text, tf_ids in zip(TEXTS, gguf_ids):
        ids = tok(text, add_special_tokens=False)["input_ids"]
        cases.append({
            "text": text,
            "ids": ids,
            "transformers_gguf_ids": tf_ids,
            "decoded": tok.decode(ids, skip_special_tokens=False),
            "decoded_skip_special": tok.decode(ids, skip_special_tokens=True),
        })
    fixture = {
        "gguf": gguf.name,
        "vocab_size": len(tok),
        "bos_token_id": tok.bos_token_id,
        "eos_token_id": tok.eos_token_id,
        "cases": cases,
    }
    OUT.write_text(json.dumps(fixture, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print("wrote", OUT, OUT.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
