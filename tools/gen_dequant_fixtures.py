#!/usr/bin/env python3
"""Writes model-runtime/src/test/resources/fixtures/ggml-quants.json: for each ggml type, random blocks (with
sane f16 scales) and gguf-py's dequantization of them, plus gguf-py's quantization of random floats for the
types GgufWriter writes. Java tests (GgufQuantFixtureTest) check Dequantize/Quantize against it.

Usage: /work/pyref/bin/python tools/gen_dequant_fixtures.py   (needs numpy and gguf)
"""
import base64
import json
import pathlib

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize, quantize

OUT = pathlib.Path(__file__).resolve().parent.parent / "model-runtime/src/test/resources/fixtures/ggml-quants.json"
rng = np.random.default_rng(20240601)


def f16_bytes(values):
    return np.asarray(values, dtype=np.float16).view(np.uint8)


def random_blocks(qtype, n_blocks):
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    scales = rng.uniform(-0.05, 0.05, size=(n_blocks, 2))
    if qtype in (T.Q4_0, T.Q5_0, T.Q8_0):
        raw[:, 0:2] = f16_bytes(scales[:, :1]).reshape(n_blocks, 2)
    elif qtype in (T.Q4_1, T.Q5_1, T.Q4_K, T.Q5_K):
        raw[:, 0:4] = f16_bytes(np.abs(scales)).reshape(n_blocks, 4)
    elif qtype == T.Q6_K:
        raw[:, 208:210] = f16_bytes(scales[:, :1]).reshape(n_blocks, 2)
    elif qtype == T.F16:
        raw = f16_bytes(rng.normal(0, 1, size=n_blocks * block_size)).reshape(n_blocks, type_size)
    elif qtype == T.BF16:
        f = rng.normal(0, 1, size=n_blocks * block_size).astype(np.float32)
        raw = (f.view(np.uint32) >> 16).astype(np.uint16).view(np.uint8).reshape(n_blocks, type_size)
    elif qtype == T.F32:
        raw = rng.normal(0, 1, size=n_blocks).astype(np.float32).view(np.uint8).reshape(n_blocks, 4)
    return raw


def b64(arr):
    return base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode()


fixture = {"dequantize": {}, "quantize": {}}
for qtype in (T.F32, T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.Q4_K, T.Q5_K, T.Q6_K):
    block_size, _ = GGML_QUANT_SIZES[qtype]
    n_blocks = 2 if block_size == 256 else (64 if block_size == 1 else 4)
    raw = random_blocks(qtype, n_blocks)
    values = dequantize(raw.reshape(-1), qtype).astype(np.float32).reshape(-1)
    assert np.all(np.isfinite(values)), qtype.name
    fixture["dequantize"][qtype.name] = {
        "numel": int(values.size),
        "blocks": b64(raw),
        "expected_f32": b64(values),
    }

for qtype in (T.F16, T.Q8_0, T.Q4_0, T.Q4_1):
    x = rng.normal(0, 0.5, size=(2, 64)).astype(np.float32)
    q = quantize(x, qtype)
    fixture["quantize"][qtype.name] = {"numel": int(x.size), "input_f32": b64(x), "expected": b64(q)}

OUT.write_text(json.dumps(fixture, indent=1) + "\n")
print("wrote", OUT, OUT.stat().st_size, "bytes")
