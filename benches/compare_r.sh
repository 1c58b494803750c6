#!/usr/bin/env bash
# kanary's Mann-Whitney interval + estimate against R's
# wilcox.test(x, y, exact = FALSE, correct = TRUE, conf.int = TRUE, conf.level = 0.98)
# on the same data, per size. Prints size, kanary ms, R ms, ratio, and whether the
# intervals agree. Needs R (Debian r-base-core): installed if missing.
#
#   benches/compare_r.sh [SIZES...]     (default: 1000 10000 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-1000 10000 100000}")
# shellcheck disable=SC2206
sizes=(${sizes[*]})
if ! command -v Rscript >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq r-base-core >/dev/null
fi
cargo build --release --quiet --example mw_compare
bin="${CARGO_TARGET_DIR:-target}/release/examples/mw_compare"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '%-8s %12s %12s %9s  %s\n' "n=m" "kanary ms" "R ms" "R/kanary" "interval equal"
for n in "${sizes[@]}"; do
  read -r _ ours lo hi est < <("$bin" "$n" "$dir")
  # R: best of a few runs (one run above 50k per side: R takes seconds there).
  reps=3; [ "$n" -gt 50000 ] && reps=1
  read -r rms rlo rhi < <(Rscript -e "
    x <- scan('$dir/x.txt', quiet=TRUE); y <- scan('$dir/y.txt', quiet=TRUE)
    best <- Inf
    for (i in 1:$reps) { t <- system.time(w <- wilcox.test(x, y, exact=FALSE, correct=TRUE, conf.int=TRUE, conf.level=0.98))[['elapsed']]; best <- min(best, t) }
    cat(sprintf('%.3f %.17g %.17g\n', best*1000, w\$conf.int[1], w\$conf.int[2]))")
  same=$(python3 -c "print('yes' if float('$lo')==float('$rlo') and float('$hi')==float('$rhi') else 'NO: R [$rlo, $rhi] vs [$lo, $hi]')")
  ratio=$(python3 -c "print(f'{$rms/$ours:.0f}x')")
  printf '%-8s %12.3f %12.1f %9s  %s\n' "$n" "$ours" "$rms" "$ratio" "$same"
done
