"""Golden numbers for dev.cai.runtime.ppo tests, computed independently with NumPy and PyTorch.

Run: python tools/ppo_golden.py   (needs numpy and torch). Paste the printed values into
model-runtime/src/test/java/dev/cai/runtime/ppo/PpoGoldenTest.java when the formulas change.
"""
import numpy as np
import torch
import torch.nn.functional as F

np.set_printoptions(precision=9, floatmode="fixed")
fmt = lambda a: "{" + ", ".join(f"{float(x):.9g}f" for x in np.asarray(a).ravel()) + "}"

logp = np.array([-1.2, -0.3, -2.5, -0.7], dtype=np.float64)
ref = np.array([-1.0, -0.6, -2.0, -0.9], dtype=np.float64)
k1 = logp - ref
log_rho = ref - logp
k3 = (np.exp(log_rho) - 1) - log_rho
print("k1", fmt(k1)); print("k3", fmt(k3))
beta, score = 0.1, 1.5
r = -beta * k1; r[-1] += score
print("rewards_eos", fmt(r))
r2 = -beta * k1; r2[-1] += score - 1.0
print("rewards_noeos_pen1", fmt(r2))

def gae(rew, val, gamma, lam):
    n = len(rew); adv = np.zeros(n); last = 0.0
    for t in reversed(range(n)):
        nv = val[t + 1] if t + 1 < n else 0.0
        delta = rew[t] + gamma * nv - val[t]
        last = delta + gamma * lam * last
        adv[t] = last
    return adv, adv + val
vals = np.array([0.5, 0.2, -0.1, 0.4])
a, ret = gae(r, vals, 1.0, 0.95); print("gae_adv_1_095", fmt(a)); print("gae_ret_1_095", fmt(ret))
a, ret = gae(r, vals, 0.9, 0.8); print("gae_adv_09_08", fmt(a)); print("gae_ret_09_08", fmt(ret))

batch = [np.array([1.0, 2.0, 3.0]), np.array([-1.0]), np.array([0.5, 4.0])]
flat = np.concatenate(batch); mu = flat.mean(); var = flat.var()  # population variance
w = [(b - mu) / np.sqrt(var + 1e-8) for b in batch]
print("whiten", fmt(np.concatenate(w))); print("whiten_keepmean", fmt(np.concatenate([x + mu for x in w])))

beta0, target, horizon = 0.2, 6.0, 10000.0
for kl, n in [(9.0, 256), (3.0, 512), (6.6, 64)]:
    e = np.clip(kl / target - 1, -0.2, 0.2); print("klctl", kl, n, f"{beta0 * (1 + e * n / horizon):.12g}")

# PPO losses, batch [2, 3] with mask
lp = torch.tensor([[-1.0, -0.5, -2.0], [-0.2, -1.5, -0.9]], dtype=torch.float64)
olp = torch.tensor([[-1.1, -0.9, -1.8], [-0.2, -1.0, -1.4]], dtype=torch.float64)
adv = torch.tensor([[0.5, -1.0, 2.0], [1.5, -0.3, 0.7]], dtype=torch.float64)
mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 1.0]], dtype=torch.float64)
eps = 0.2
ratio = torch.exp(lp - olp)
pg1 = -adv * ratio; pg2 = -adv * torch.clamp(ratio, 1 - eps, 1 + eps)
mm = lambda x: (x * mask).sum() / mask.sum()
print("pg_loss", f"{mm(torch.max(pg1, pg2)).item():.9g}", "clipfrac", f"{mm((pg2 > pg1).double()).item():.9g}",
      "approxkl", f"{0.5 * mm((lp - olp) ** 2).item():.9g}")
v = torch.tensor([[0.3, 0.9, -0.4], [1.2, 0.0, 0.5]], dtype=torch.float64)
ov = torch.tensor([[0.1, 0.5, -0.3], [1.0, 0.2, 0.0]], dtype=torch.float64)
rt = torch.tensor([[0.6, 0.4, 0.0], [0.9, -0.5, 2.0]], dtype=torch.float64)
ve = 0.2
vc = ov + torch.clamp(v - ov, -ve, ve)
vf1 = (v - rt) ** 2; vf2 = (vc - rt) ** 2
print("vf_loss", f"{0.5 * mm(torch.max(vf1, vf2)).item():.9g}", "vf_clipfrac", f"{mm((vf2 > vf1).double()).item():.9g}")
logits = torch.tensor([[[1.0, 2.0, 0.5], [0.0, 0.0, 0.0], [3.0, -1.0, 0.2]],
                       [[-0.5, 0.3, 0.9], [2.0, 2.0, -2.0], [0.1, 0.1, 5.0]]], dtype=torch.float64)
p = torch.softmax(logits, -1); ent = -(p * torch.log_softmax(logits, -1)).sum(-1)
print("entropy", f"{mm(ent).item():.9g}")

ra = torch.tensor([1.0, -0.5, 3.0, 0.0], dtype=torch.float64)
rb = torch.tensor([0.2, 0.5, -1.0, 0.0], dtype=torch.float64)
pa = torch.tensor([0.9, 0.3, 1.0, 0.5], dtype=torch.float64)
loss = -(pa * F.logsigmoid(ra - rb) + (1 - pa) * F.logsigmoid(rb - ra))
print("soft_bt_each", fmt(loss.numpy())); print("soft_bt_mean", f"{loss.mean().item():.9g}")
print("normalize(-0.3,-1.7)", f"{torch.softmax(torch.tensor([-0.3, -1.7], dtype=torch.float64), 0)[0].item():.12g}")
