"""Writes the safetensors fixture read by SafetensorsFileTest, using the reference Python writer.

Run: /work/pyref/bin/python tools/make_safetensors_fixture.py model-runtime/src/test/resources/io
Writes torch_fixture.safetensors and torch_fixture.expected.json (the float32 values torch sees after
widening each tensor, so the Java reader must match them bit for bit).
"""
import json
import struct
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
tensors = {
    "f32": torch.tensor([[0.1, -2.5, 3.0e-8], [1e30, -0.0, 7.25]], dtype=torch.float32),
    "f16": torch.tensor([0.1, -65504.0, 6e-8, 1.0, -0.33325], dtype=torch.float16),
    "bf16": torch.tensor([[0.1, -3.14159], [1e-20, 3e38]], dtype=torch.bfloat16),
    "f64": torch.tensor([1.0 / 3.0, -2.0], dtype=torch.float64),
    "scalar": torch.tensor(42.5, dtype=torch.float32),
    "empty": torch.zeros((0, 3), dtype=torch.float32),
    "i64": torch.tensor([7, -1], dtype=torch.int64),
}
save_file(tensors, str(out / "torch_fixture.safetensors"), metadata={"format": "pt", "note": "cai fixture"})


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


expected = {}
for name, t in tensors.items():
    if t.dtype == torch.int64:
        continue
    flat = t.to(torch.float32).reshape(-1).tolist()
    expected[name] = {"shape": list(t.shape), "bits": [f32_bits(v) for v in flat]}
(out / "torch_fixture.expected.json").write_text(json.dumps(expected, indent=1) + "\n")
print("wrote", out)
