"""Reference numbers for dev.cai.runtime.eval.Elo (Bradley-Terry / Elo fit from soft pairwise comparisons).

Pure Python (no NumPy/SciPy needed), written independently of the Java code from the definitions:

  * comparison k = (i, j, p): player i beats player j with probability p (a soft outcome: it counts
    p wins for i and 1 - p for j);
  * log-strengths s maximise  sum_k [p log sigma(s_i - s_j) + (1 - p) log sigma(s_j - s_i)] - (l2 / 2) |s|^2
    (Newton's method with backtracking; the tiny L2 prior makes the optimum unique and finite and fixes
    the gauge at mean(s) = 0);
  * Elo = 400 / ln(10) * s, reported with mean 0 or relative to an anchor player (anchor Elo = 0);
  * bootstrap: B replicates, each drawing n comparisons with replacement by java.util.SplittableRandom(seed)
    .nextInt(n) (SplitMix64, ported below, one generator for all replicates in order), refitting, and taking the
    2.5 / 97.5 percentiles (linear interpolation between order statistics, as numpy.percentile's default).

Run: python3 tools/elo_reference.py   and paste the printed numbers into
model-runtime/src/test/java/dev/cai/runtime/eval/EloTest.java when the definitions change.
"""
import math

ELO_PER_NAT = 400.0 / math.log(10.0)
MASK64 = (1 << 64) - 1
GOLDEN_GAMMA = 0x9E3779B97F4A7C15


class SplittableRandom:
    """java.util.SplittableRandom(seed): nextInt() and nextInt(bound) (bounded by rejection, as the JDK does)."""

    def __init__(self, seed):
        self.seed = seed & MASK64
        self.gamma = GOLDEN_GAMMA

    def _next_seed(self):
        self.seed = (self.seed + self.gamma) & MASK64
        return self.seed

    @staticmethod
    def _mix32(z):
        z = ((z ^ (z >> 33)) * 0x62A9D9ED799705F5) & MASK64
        z = (((z ^ (z >> 28)) * 0xCB24D0A5C88C35B3) & MASK64) >> 32
        return z - (1 << 32) if z >= (1 << 31) else z  # as a signed Java int

    def next_int(self, bound=None):
        r = self._mix32(self._next_seed())
        if bound is None:
            return r
        m = bound - 1
        if bound & m == 0:
            return r & m
        u = (r & 0xFFFFFFFF) >> 1  # r >>> 1
        while True:
            r = u % bound
            if u + m - r < (1 << 31):  # no Java int overflow: accepted
                return r
            u = (self.next_int() & 0xFFFFFFFF) >> 1


def log_sigmoid(x):
    return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def objective(s, comps, l2):
    f = sum(p * log_sigmoid(s[i] - s[j]) + (1 - p) * log_sigmoid(s[j] - s[i]) for i, j, p in comps)
    return f - 0.5 * l2 * sum(x * x for x in s)


def solve(a, b):
    """Gaussian elimination with partial pivoting (a is small and symmetric positive definite)."""
    n = len(b)
    m = [row[:] + [b[r]] for r, row in enumerate(a)]
    for c in range(n):
        piv = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[piv] = m[piv], m[c]
        for r in range(c + 1, n):
            f = m[r][c] / m[c][c]
            for k in range(c, n + 1):
                m[r][k] -= f * m[c][k]
    x = [0.0] * n
    for r in reversed(range(n)):
        x[r] = (m[r][n] - sum(m[r][k] * x[k] for k in range(r + 1, n))) / m[r][r]
    return x


def fit(n, comps, l2):
    s = [0.0] * n
    for _ in range(200):
        g = [-l2 * x for x in s]
        a = [[(l2 if r == c else 0.0) for c in range(n)] for r in range(n)]
        for i, j, p in comps:
            q = sigmoid(s[i] - s[j])
            g[i] += p - q
            g[j] -= p - q
            w = q * (1 - q)
            a[i][i] += w
            a[j][j] += w
            a[i][j] -= w
            a[j][i] -= w
        d = solve(a, g)
        dec = sum(x * y for x, y in zip(g, d))
        if dec < 1e-24:
            return s
        t = 1.0
        if dec > 1e-10:  # far from the optimum: backtrack until the objective rises enough (Armijo)
            f0 = objective(s, comps, l2)
            while objective([x + t * y for x, y in zip(s, d)], comps, l2) < f0 + 1e-4 * t * dec:
                t /= 2
        # near it, full Newton steps (the objective's change is then below its rounding)
        s = [x + t * y for x, y in zip(s, d)]
    raise RuntimeError("no convergence")


def to_elo(s, anchor):
    base = sum(s) / len(s) if anchor < 0 else s[anchor]
    return [ELO_PER_NAT * (x - base) for x in s]


def percentile(sorted_values, q):
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (pos - lo) * (sorted_values[hi] - sorted_values[lo])


def bootstrap(n, comps, l2, b, seed, anchor):
    rng = SplittableRandom(seed)
    per_player = [[] for _ in range(n)]
    for _ in range(b):
        sample = [comps[rng.next_int(len(comps))] for _ in range(len(comps))]
        elo = to_elo(fit(n, sample, l2), anchor)
        for k in range(n):
            per_player[k].append(elo[k])
    out = []
    for v in per_player:
        v.sort()
        out.append((percentile(v, 0.025), percentile(v, 0.975)))
    return out


def fmt(xs):
    return "{" + ", ".join(f"{x:.9f}" for x in xs) + "}"


L2 = 1e-3
THREE = [(0, 1, 0.30), (0, 1, 0.45), (0, 1, 0.20), (1, 2, 0.55), (1, 2, 0.40),
         (0, 2, 0.35), (2, 0, 0.70), (1, 0, 0.60), (2, 1, 0.50), (0, 2, 0.25)]
# player 3 wins every comparison it is in
SWEEP = [(0, 1, 0.6), (1, 2, 0.55), (2, 0, 0.5), (3, 0, 1.0), (1, 3, 0.0), (3, 2, 1.0), (0, 1, 0.4)]

if __name__ == "__main__":
    rng = SplittableRandom(42)
    print("splittable(42).nextInt(10) x5", [rng.next_int(10) for _ in range(5)])
    rng = SplittableRandom(-7)
    print("splittable(-7).nextInt() x3", [rng.next_int() for _ in range(3)])
    s = fit(3, THREE, L2)
    print("three mean-0 elo", fmt(to_elo(s, -1)))
    print("three anchored elo", fmt(to_elo(s, 0)))
    for anchor in (0, -1):
        ci = bootstrap(3, THREE, L2, 1000, 42, anchor)
        print(f"three bootstrap anchor {anchor} lo", fmt([c[0] for c in ci]))
        print(f"three bootstrap anchor {anchor} hi", fmt([c[1] for c in ci]))
    print("sweep mean-0 elo", fmt(to_elo(fit(4, SWEEP, L2), -1)))
    two = [(0, 1, 0.76)] * 5
    elo = to_elo(fit(2, two, L2), -1)
    print("p=0.76 elo difference", f"{elo[0] - elo[1]:.9f}", "(no prior:", f"{ELO_PER_NAT * math.log(0.76 / 0.24):.9f})")
