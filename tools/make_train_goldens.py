"""Golden numbers for the training primitives, computed with PyTorch as the reference.

Run: /work/pyref/bin/python tools/make_train_goldens.py model-runtime/src/test/resources/train/goldens.json
All inputs are fixed below (no randomness), so the file is reproducible.
  adamw:     torch.optim.AdamW, two param groups (matrix with weight decay, vector without), 3 steps.
  clip:      torch.nn.utils.clip_grad_norm_ on two gradients (one case that clips, one that does not).
  lm_loss:   causal-LM NLL on response tokens only: logits[:, :-1] predict ids[:, 1:], targets whose
             loss-mask is 0 are ignored; reported as the sum and the mean over counted targets, plus the
             gradient of the mean w.r.t. the logits.
  schedule:  linear warm-up then linear decay to final_fraction * peak, for optimizer steps t = 1..T+2.
"""
import json
import sys

import torch

torch.set_default_dtype(torch.float32)
out = {}

# ---- AdamW --------------------------------------------------------------------------------------
w0 = [[0.5, -1.25, 2.0], [0.0, 3.5, -0.75]]
b0 = [0.1, -0.2]
grads_w = [
    [[0.3, -0.1, 0.05], [1.5, -2.0, 0.0]],
    [[-0.2, 0.4, 0.05], [0.7, -1.0, 1e-4]],
    [[0.01, 0.0, -0.6], [2.5, 0.3, -0.3]],
]
grads_b = [[0.5, -0.25], [0.1, 0.0], [-1.0, 2.0]]
lr, betas, eps, wd = 0.01, (0.9, 0.999), 1e-8, 0.1
w = torch.nn.Parameter(torch.tensor(w0))
b = torch.nn.Parameter(torch.tensor(b0))
opt = torch.optim.AdamW([{"params": [w], "weight_decay": wd}, {"params": [b], "weight_decay": 0.0}],
                        lr=lr, betas=betas, eps=eps, foreach=False)
steps = []
for gw, gb in zip(grads_w, grads_b):
    w.grad = torch.tensor(gw)
    b.grad = torch.tensor(gb)
    opt.step()
    st_w, st_b = opt.state[w], opt.state[b]
    steps.append({
        "w": w.detach().reshape(-1).tolist(), "b": b.detach().tolist(),
        "m_w": st_w["exp_avg"].reshape(-1).tolist(), "v_w": st_w["exp_avg_sq"].reshape(-1).tolist(),
        "m_b": st_b["exp_avg"].tolist(), "v_b": st_b["exp_avg_sq"].tolist(),
    })
out["adamw"] = {"lr": lr, "beta1": betas[0], "beta2": betas[1], "eps": eps, "weight_decay": wd,
                "w0": sum(w0, []), "w_shape": [2, 3], "b0": b0,
                "grads_w": [sum(g, []) for g in grads_w], "grads_b": grads_b, "steps": steps}

# ---- gradient clipping --------------------------------------------------------------------------
clip = []
for max_norm in (1.0, 100.0):
    g1 = torch.tensor([[3.0, -4.0], [1.0, 0.5]])
    g2 = torch.tensor([2.0, -0.25, 1.5])
    p1 = torch.nn.Parameter(torch.zeros(2, 2))
    p2 = torch.nn.Parameter(torch.zeros(3))
    p1.grad, p2.grad = g1.clone(), g2.clone()
    total = torch.nn.utils.clip_grad_norm_([p1, p2], max_norm)
    clip.append({"max_norm": max_norm, "g1": g1.reshape(-1).tolist(), "g2": g2.tolist(),
                 "total_norm": float(total), "clipped_g1": p1.grad.reshape(-1).tolist(),
                 "clipped_g2": p2.grad.tolist()})
out["clip"] = {"cases": clip}

# ---- masked causal-LM loss ----------------------------------------------------------------------
B, T, V = 2, 5, 7
logits = torch.tensor([[[((b * 31 + t * 7 + v * 3) % 11) / 4.0 - 1.2 for v in range(V)] for t in range(T)]
                       for b in range(B)], requires_grad=True)
ids = torch.tensor([[1, 4, 2, 6, 0], [3, 3, 5, 1, 2]])
loss_mask = torch.tensor([[0, 0, 1, 1, 1], [0, 0, 0, 1, 0]])  # 1 = response token (a target to learn)
targets = ids[:, 1:].clone()
targets[loss_mask[:, 1:] == 0] = -100
nll_sum = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, V), targets.reshape(-1),
                                            ignore_index=-100, reduction="sum")
count = int((loss_mask[:, 1:] == 1).sum())
mean = nll_sum / count
mean.backward()
out["lm_loss"] = {"B": B, "T": T, "V": V, "logits": logits.detach().reshape(-1).tolist(),
                  "ids": ids.reshape(-1).tolist(), "loss_mask": loss_mask.reshape(-1).tolist(),
                  "nll_sum": float(nll_sum.detach()), "count": count, "mean": float(mean.detach()),
                  "grad_of_mean": logits.grad.reshape(-1).tolist()}

# ---- schedule -----------------------------------------------------------------------------------
sched = []
for peak, warmup, total, final_fraction in ((1e-3, 3, 10, 0.0), (5e-4, 0, 4, 0.1)):
    lrs = []
    for t in range(1, total + 3):
        if t <= warmup:
            lrs.append(peak * t / warmup)
        else:
            progress = min(1.0, (t - warmup) / (total - warmup))
            lrs.append(peak * (1.0 - (1.0 - final_fraction) * progress))
    sched.append({"peak": peak, "warmup": warmup, "total": total, "final_fraction": final_fraction, "lrs": lrs})
out["schedule"] = {"cases": sched}

with open(sys.argv[1], "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print("wrote", sys.argv[1])
