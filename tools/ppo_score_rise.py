#!/usr/bin/env python3
"""Does the PM score of fresh samples rise in a `cai rl train` run?

usage: tools/ppo_score_rise.py RUN_DIR/rl-metrics.jsonl [--prompts 32] [--passes-window 2] [--wall SECONDS]

Reads one JSON line per PPO update (fields: version, batch, rollouts, score, kl, kl_coef, staleness,
response_length, eos_rate, update_ms, time_ms) and prints
  * per-update score / KL / beta / length / EOS rate, and the policy version that generated the batch;
  * seconds per update (time between consecutive metrics lines, and the learner's own update_ms);
  * means per pass over the prompt set (pass = prompts / rollouts updates; with prompt-passes = 0 the same
    prompts recur in the same batch positions each pass, with new sampling seeds);
  * the least-squares slope of the per-update mean score vs update number, its standard error and t, both plain
    and with a fixed effect per position in the pass (removes the prompt-to-prompt variance between batches);
  * the difference of the mean score of the last W passes and the first W passes, with the standard error from
    the per-update values (unpaired, Welch) and paired by position in the pass;
  * max KL and the KL per pass.
Standard library only.
"""
import json
import math
import statistics
import sys


def ols(xs, ys):
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    b = sxy / sxx
    a = my - b * mx
    ssr = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys))
    se = math.sqrt(ssr / (n - 2) / sxx) if n > 2 else float("nan")
    return b, se


def ols_fixed_effects(xs, ys, groups):
    """Slope of y on x with one intercept per group (within estimator)."""
    by = {}
    for x, y, g in zip(xs, ys, groups):
        by.setdefault(g, []).append((x, y))
    xc, yc = [], []
    for pts in by.values():
        mx = sum(p[0] for p in pts) / len(pts)
        my = sum(p[1] for p in pts) / len(pts)
        for x, y in pts:
            xc.append(x - mx)
            yc.append(y - my)
    sxx = sum(x * x for x in xc)
    b = sum(x * y for x, y in zip(xc, yc)) / sxx
    ssr = sum((y - b * x) ** 2 for x, y in zip(xc, yc))
    dof = len(xs) - 1 - len(by)
    se = math.sqrt(ssr / dof / sxx) if dof > 0 else float("nan")
    return b, se


def main(argv):
    args = [a for a in argv[1:]]
    if not args:
        print(__doc__)
        return 2
    path = args[0]
    opts = {"--prompts": "32", "--passes-window": "2", "--wall": None}
    i = 1
    while i < len(args):
        opts[args[i]] = args[i + 1]
        i += 2
    rows = [json.loads(l) for l in open(path) if l.strip()]
    rows.sort(key=lambda r: r["version"])
    n = len(rows)
    batch = rows[0]["rollouts"]
    pass_len = max(1, int(opts["--prompts"]) // batch)
    w = int(opts["--passes-window"])
    xs = list(range(1, n + 1))
    ys = [r["score"] for r in rows]
    kls = [r["kl"] for r in rows]

    print(f"{path}: {n} updates, {batch} rollouts each, pass = {pass_len} updates")
    print("  upd  stale   score    kl      beta    len    eos   update_s  line_dt_s")
    prev_t = None
    dts = []
    for k, r in enumerate(rows):
        gen = ",".join(f"{v}x{c}" for v, c in sorted(r.get("staleness", {}).items(), key=lambda kv: int(kv[0])))
        dt = (r["time_ms"] - prev_t) / 1000 if prev_t is not None else float("nan")
        if prev_t is not None:
            dts.append(dt)
        prev_t = r["time_ms"]
        print(f"{r['version']:4d}  {gen:7s} {r['score']:6.3f}  {r['kl']:6.3f}  {r['kl_coef']:.4f}  "
              f"{r.get('response_length', float('nan')):5.1f}  {r.get('eos_rate', float('nan')):4.2f}  "
              f"{r.get('update_ms', 0) / 1000:7.1f}  {dt:8.1f}")
    ups = [r.get("update_ms", 0) / 1000 for r in rows]
    print(f"\nseconds per update: metrics-line interval mean {statistics.mean(dts):.1f} "
          f"(median {statistics.median(dts):.1f}, first line excluded); learner update_ms mean {statistics.mean(ups):.1f}")
    span = (rows[-1]["time_ms"] - rows[0]["time_ms"]) / 1000
    print(f"first to last update: {span:.0f} s")
    if opts["--wall"]:
        wall = float(opts["--wall"])
        print(f"RL command wall time: {wall:.0f} s = {wall / 60:.1f} min -> {wall / n:.1f} s per update overall")

    print("\nper pass (mean of its updates):")
    passes = [list(range(p * pass_len, min(n, (p + 1) * pass_len))) for p in range((n + pass_len - 1) // pass_len)]
    for p, idx in enumerate(passes):
        print(f"  pass {p + 1:2d} (updates {idx[0] + 1}-{idx[-1] + 1}): score {statistics.mean(ys[j] for j in idx):.3f}"
              f"  kl {statistics.mean(kls[j] for j in idx):.3f}")

    b, se = ols(xs, ys)
    print(f"\nslope of score vs update (plain OLS): {b:+.4f} per update, se {se:.4f}, t {b / se:+.2f}"
          f"  (over {n} updates: {b * (n - 1):+.3f})")
    if pass_len > 1:
        groups = [(x - 1) % pass_len for x in xs]
        bf, sef = ols_fixed_effects(xs, ys, groups)
        print(f"slope with a fixed effect per position in the pass: {bf:+.4f} per update, se {sef:.4f}, t {bf / sef:+.2f}")

    first = [j for p in passes[:w] for j in p]
    last = [j for p in passes[-w:] for j in p]
    if len(passes) >= 2 * w and len(first) >= 2 and len(last) >= 2:
        a1 = [ys[j] for j in first]
        a2 = [ys[j] for j in last]
        d = statistics.mean(a2) - statistics.mean(a1)
        se_u = math.sqrt(statistics.variance(a1) / len(a1) + statistics.variance(a2) / len(a2))
        print(f"\nlast {w} passes - first {w} passes: {statistics.mean(a2):.3f} - {statistics.mean(a1):.3f} = {d:+.3f}, "
              f"se (unpaired, per-update values) {se_u:.3f}, t {d / se_u:+.2f}")
        if len(first) == len(last):
            diffs = [ys[l] - ys[f] for f, l in zip(first, last)]
            se_p = statistics.stdev(diffs) / math.sqrt(len(diffs))
            print(f"  paired by position in the pass ({len(diffs)} pairs, same prompts): mean {statistics.mean(diffs):+.3f}, "
                  f"se {se_p:.3f}, t {statistics.mean(diffs) / se_p:+.2f}")
    print(f"\nsd of per-update score: {statistics.stdev(ys):.3f}")
    print(f"max KL {max(kls):.3f} (update {kls.index(max(kls)) + 1}); mean KL of the last pass "
          f"{statistics.mean(kls[j] for j in passes[-1]):.3f}; final beta {rows[-1]['kl_coef']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
