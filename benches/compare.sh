#!/usr/bin/env bash
# One run, one generated pair per size, four implementations side by side:
#   kanary MW   Kayenta's judge numerics: kanary_judge::mann_whitney_interval(x, y, 0.95)
#               (R's asymptotic interval to the bit, Kayenta's estimate)
#   kanary v1   kanary-v1's exact Hodges-Lehmann shift + Moses interval + p-value:
#               kanary_judge::kanary_v1::rank_sum_test(x, y, TwoSided, 0.975)
#   R           wilcox.test(x, y, conf.int = TRUE)   (Debian r-base-core; 95 %)
#   SciPy       scipy.stats.mannwhitneyu(x, y)       (p-value only; Debian python3-scipy)
# Data: n values a side, baseline N(10, 2), canary N(10.3, 2), fixed seeds
# (benches/common/mod.rs), written once by examples/compare.rs and read by R and SciPy.
# Times: best of repeated runs, in ms, in-process (reading the files is not timed).
#
# Checks, where R ran:
#   - kanary MW's interval equals R's conf.int to the last bit (same algorithm);
#   - kanary MW's estimate is within a hundredth of the shift's standard error,
#     sd * sqrt(2/n) / 100 with sd = 2, of R's (Kayenta solves the continuity-corrected
#     equation at 0, R the uncorrected one: see judge/src/mann_whitney.rs);
#   - kanary v1's p-value is within a relative 1e-12 of R's and of SciPy's (same normal
#     approximation with tie and continuity corrections);
#   - kanary v1's estimate equals R's median(outer(x, y, "-")) and its interval the order
#     statistics of sort(outer(x, y, "-")) at kanary v1's ranks, to the bit, where the
#     n^2 differences fit in memory (n <= 1,000);
#   - kanary v1's exact interval ends are within a tenth of the shift's standard error,
#     sd * sqrt(2/n) / 10 with sd = 2, of R's asymptotic ones (the two are different estimators of
#     the same quantile: order statistics vs the root of the rank statistic).
# R is skipped above 100,000 a side (R's uniroot over re-ranked pools takes minutes
# there: 10 s at 100k, ~2 min at 1M extrapolated); SciPy runs at every size.
#
#   benches/compare.sh [SIZES...]     (default: 100 1000 10000 100000 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-100 1000 10000 100000 1000000}")
# shellcheck disable=SC2206
sizes=(${sizes[*]})
r_max=100000

# Peers: installed if missing (we are root on Debian).
if ! command -v Rscript >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq r-base-core >/dev/null
fi
py=""
for cand in /usr/bin/python3 python3; do
  if "$cand" -c 'import scipy, numpy' 2>/dev/null; then py=$cand; break; fi
done
if [ -z "$py" ]; then
  if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-scipy >/dev/null 2>&1 \
     && /usr/bin/python3 -c 'import scipy' 2>/dev/null; then
    py=/usr/bin/python3
  else
    venv="${TMPDIR:-/tmp}/kanary-compare-venv"
    python3 -m venv "$venv" && "$venv/bin/pip" install -q scipy numpy
    py="$venv/bin/python"
  fi
fi

export CARGO_PROFILE_DEV_DEBUG=0
cargo build --release --quiet --example compare
bin="${CARGO_TARGET_DIR:-target}/release/examples/compare"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

rver=$(Rscript -e 'cat(R.version$major, R.version$minor, sep=".")')
sver=$("$py" -c 'import scipy; print(scipy.__version__)')
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); R $rver; SciPy $sver"
printf '%-9s %11s %11s %11s %11s | %9s %9s %9s | %s\n' "n a side" "kanary MW" "kanary v1" \
  "R" "SciPy" "R/MW" "R/v1" "SciPy/v1" "checks"
for n in "${sizes[@]}"; do
  read -r _ mw_ms mw_lo mw_hi mw_est v1_ms v1_lo v1_hi v1_est v1_p < <("$bin" "$n" "$dir")
  reps=$(( n <= 10000 ? 5 : 1 ))
  read -r sp_ms sp_p < <("$py" - "$dir" <<'PY'
import sys, time, numpy as np
from scipy.stats import mannwhitneyu
x = np.loadtxt(sys.argv[1] + "/x.txt"); y = np.loadtxt(sys.argv[1] + "/y.txt")
best = float("inf")
for _ in range(5 if len(x) <= 100000 else 3):
    t = time.perf_counter(); r = mannwhitneyu(x, y, alternative="two-sided"); best = min(best, time.perf_counter() - t)
print(f"{best*1e3:.6f} {r.pvalue:.17e}")
PY
)
  if [ "$n" -le "$r_max" ]; then
    exact=$([ "$n" -le 1000 ] && echo TRUE || echo FALSE)
    read -r r_ms r_lo r_hi r_est r_p e_est e_lo e_hi < <(Rscript -e "
      x <- scan('$dir/x.txt', quiet=TRUE); y <- scan('$dir/y.txt', quiet=TRUE)
      best <- Inf
      for (i in 1:$reps) { t <- system.time(w <- wilcox.test(x, y, conf.int=TRUE))[['elapsed']]; best <- min(best, t) }
      e <- c(NA, NA, NA)
      if ($exact) {
        # kanary v1's ranks: ceiling(mu - 0.5 + qnorm(0.025) * sigma), clamped to 1..n*m.
        n <- length(x); m <- length(y); tot <- n * m
        k <- max(1, min(tot, ceiling(n*m/2 - 0.5 + qnorm(0.025) * sqrt(n*m*(n+m+1)/12))))
        d <- sort(outer(x, y, '-'))
        e <- c(median(d), d[k], d[tot + 1 - k])
      }
      cat(sprintf('%.3f %.17g %.17g %.17g %.17g %.17g %.17g %.17g\n', best*1000,
        w\$conf.int[1], w\$conf.int[2], w\$estimate, w\$p.value, e[1], e[2], e[3]))")
  else
    r_ms=NA; r_lo=NA; r_hi=NA; r_est=NA; r_p=NA; e_est=NA; e_lo=NA; e_hi=NA
  fi
  "$py" - "$n" "$mw_ms" "$mw_lo" "$mw_hi" "$mw_est" "$v1_ms" "$v1_lo" "$v1_hi" "$v1_est" "$v1_p" \
    "$r_ms" "$r_lo" "$r_hi" "$r_est" "$r_p" "$e_est" "$e_lo" "$e_hi" "$sp_ms" "$sp_p" <<'PY'
import math, sys
a = sys.argv[1:]
n = int(a[0])
f = lambda s: float("nan") if s in ("NA", "nan") else float(s)
mw_ms, mw_lo, mw_hi, mw_est, v1_ms, v1_lo, v1_hi, v1_est, v1_p = map(f, a[1:10])
r_ms, r_lo, r_hi, r_est, r_p, e_est, e_lo, e_hi, sp_ms, sp_p = map(f, a[10:20])
checks = []
def rel(a, b): return abs(a - b) / max(abs(b), 1e-300)
if not math.isnan(r_ms):
    checks.append("MW interval = R" if (mw_lo, mw_hi) == (r_lo, r_hi)
                  else f"MW interval NOT R: [{mw_lo!r}, {mw_hi!r}] vs [{r_lo!r}, {r_hi!r}]")
    d = abs(mw_est - r_est)
    etol = 2.0 * math.sqrt(2.0 / n) / 100.0
    checks.append(f"MW est-R {d:.1e}" + (" ok" if d <= etol else f" > {etol:.1e} FAIL"))
    checks.append("v1 p~R" if rel(v1_p, r_p) <= 1e-12 else f"v1 p {v1_p!r} vs R {r_p!r} FAIL")
    tol = 2.0 * math.sqrt(2.0 / n) / 10.0
    worst = max(abs(v1_lo - r_lo), abs(v1_hi - r_hi))
    checks.append(f"v1 ends-R {worst:.1e}" + (" ok" if worst <= tol else f" > {tol:.1e} FAIL"))
    if not math.isnan(e_est):
        same = (v1_est, v1_lo, v1_hi) == (e_est, e_lo, e_hi)
        checks.append("v1 = R outer() exact" if same else
                      f"v1 NOT R outer(): {(v1_est, v1_lo, v1_hi)} vs {(e_est, e_lo, e_hi)}")
else:
    checks.append(f"R skipped (n > {100000:,}: minutes)")
checks.append("v1 p~SciPy" if rel(v1_p, sp_p) <= 1e-12 else f"v1 p {v1_p!r} vs SciPy {sp_p!r} FAIL")
fmt = lambda v: "-" if math.isnan(v) else f"{v:.3f}"
ratio = lambda a, b: "-" if math.isnan(a) or math.isnan(b) else f"{a / b:.0f}x" if a / b >= 10 else f"{a / b:.1f}x"
print(f"{n:<9,} {fmt(mw_ms):>11} {fmt(v1_ms):>11} {fmt(r_ms):>11} {fmt(sp_ms):>11} | "
      f"{ratio(r_ms, mw_ms):>9} {ratio(r_ms, v1_ms):>9} {ratio(sp_ms, v1_ms):>9} | {'; '.join(checks)}")
PY
done
echo "times in ms; kanary: best of runs in-process (sort included); R: system.time, best of"
echo "5 (1 above 10k); SciPy: perf_counter, best of 5 (3 at 1M). v1 intervals: 95 % two-sided."
