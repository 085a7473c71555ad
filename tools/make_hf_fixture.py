"""Writes a tiny Hugging Face Llama directory (the fixture of HuggingFaceDirectoryTest) with transformers.

Run: /work/pyref/bin/python tools/make_hf_fixture.py model-runtime/src/test/resources/io/hf-tiny
The directory holds config.json (no pad_token_id), BF16 weights sharded by save_pretrained with
model.safetensors.index.json, a word-level tokenizer.json with tokenizer_config.json naming <pad>, and
expected.json: the float32 logits transformers computes for fixed ids with the BF16-rounded weights.
"""
import json
import shutil
import sys
from pathlib import Path

import torch
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import WhitespaceSplit
from transformers import LlamaConfig, LlamaForCausalLM

out = Path(sys.argv[1])
shutil.rmtree(out, ignore_errors=True)
out.mkdir(parents=True)
torch.manual_seed(1234)
config = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                     num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=128,
                     rms_norm_eps=1e-5, rope_parameters={"rope_type": "default", "rope_theta": 500.0},
                     tie_word_embeddings=False,
                     bos_token_id=0, eos_token_id=1, pad_token_id=None)
model = LlamaForCausalLM(config)
with torch.no_grad():
    for p in model.parameters():  # larger than the default init so the logits are not all ~0
        p.copy_(torch.randn_like(p) * (0.3 if p.dim() > 1 else 0.1) + (1.0 if p.dim() == 1 else 0.0))
model = model.to(torch.bfloat16)
model.save_pretrained(out, max_shard_size="30KB", safe_serialization=True)
for extra in ("generation_config.json",):
    (out / extra).unlink(missing_ok=True)

vocab = {"<s>": 0, "</s>": 1, "<pad>": 2}
for i in range(3, 64):
    vocab[f"w{i}"] = i
tok = Tokenizer(WordLevel(vocab, unk_token="<pad>"))
tok.pre_tokenizer = WhitespaceSplit()
tok.save(str(out / "tokenizer.json"))
(out / "tokenizer_config.json").write_text(json.dumps(
    {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>"}, indent=1) + "\n")

ids = [[0, 5, 9, 3, 17, 42, 1]]
# Reload in float32 (not model.float(): that would keep the bf16-rounded rotary inv_freq buffer).
model = LlamaForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
with torch.no_grad():
    logits = model(torch.tensor(ids)).logits[0]
(out / "expected.json").write_text(json.dumps({"ids": ids[0], "logits": logits.reshape(-1).tolist()}) + "\n")
print(sorted(p.name for p in out.iterdir()))
