#!/usr/bin/env bash
# Whole-program figures of the judge, release build, on generated data (fixed seeds):
#   time     `kanary judge DIR` on 200 metrics x 2 sides x 720 points (goal < 100 ms), with
#            Kayenta's judge and with `--judge kanary-v1`; hyperfine (or a loop of 20).
#   memory   peak RSS (/usr/bin/time -v) of the judge library on one metric of 1,000,000
#            points a side held in memory (examples/judge_memory.rs; goal < 64 MB), minus
#            the same process holding only the input; and of `kanary judge` reading the
#            same data from a JSON file (what the CLI needs on top).
#   benches/judge_cli.sh [time|memory]     (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
export CARGO_PROFILE_DEV_DEBUG=0
cargo build --release --quiet --bin kanary --example gen_judge_input --example judge_memory
tgt="${CARGO_TARGET_DIR:-target}/release"
kanary="$tgt/kanary"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

rss_mb() { # command...: max RSS in MB (1 MB = 10^6 bytes)
  /usr/bin/time -v "$@" 2>"$dir/time.txt" >/dev/null || true
  awk -F: '/Maximum resident set size/ {printf "%.1f", $2 * 1024 / 1e6}' "$dir/time.txt"
}
wall_s() {
  awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = p[n]; if (n > 1) s += 60 * p[n-1]; print s}' "$dir/time.txt"
}

if [ "$what" = all ] || [ "$what" = time ]; then
  "$tgt/examples/gen_judge_input" "$dir/j200" 200 720
  echo "input: 200 metrics x 2 x 720 points, pairs.json $(du -k "$dir/j200/pairs.json" | cut -f1) KB"
  if command -v hyperfine >/dev/null; then
    hyperfine -N -i --warmup 3 --runs 30 --export-json "$dir/h.json" \
      -n kayenta "$kanary judge $dir/j200 --format json" \
      -n kanary-v1 "$kanary judge $dir/j200 --judge kanary-v1 --format json" >/dev/null
    python3 - "$dir/h.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"kanary judge, 200 x 2 x 720, {r['command']:9}: mean {r['mean']*1e3:.1f} ms "
          f"± {r['stddev']*1e3:.1f}, median {r['median']*1e3:.1f} ms, min {r['min']*1e3:.1f} ms (hyperfine, 30 runs)")
PY
  else
    for judge in NetflixACAJudge-v1.0 kanary-v1; do
      start=$(date +%s%N)
      for _ in $(seq 20); do "$kanary" judge "$dir/j200" --judge "$judge" --format json >/dev/null || true; done
      echo "kanary judge, 200 x 2 x 720, $judge: $(( ($(date +%s%N) - start) / 20000000 )) ms (mean of 20)"
    done
  fi
  # The exit status follows the verdict (0 Pass, 3 Marginal, 1 Fail): show it ran.
  "$kanary" judge "$dir/j200" --format text | tail -2 || true
fi

if [ "$what" = all ] || [ "$what" = memory ]; then
  n=1000000
  input=$(rss_mb "$tgt/examples/judge_memory" $n input)
  for mode in kayenta kanary-v1; do
    total=$(rss_mb "$tgt/examples/judge_memory" $n "$mode")
    echo "library, $n points a side in memory, $mode: max RSS $total MB; input-only process $input MB; judge's own $(python3 -c "print(f'{$total - $input:.1f}')") MB; $(wall_s) s"
  done
  "$tgt/examples/gen_judge_input" "$dir/j1m" 1 $n
  echo "1M-point file: pairs.json $(du -m "$dir/j1m/pairs.json" | cut -f1) MB"
  for judge in NetflixACAJudge-v1.0 kanary-v1; do
    total=$(rss_mb "$kanary" judge "$dir/j1m" --judge "$judge" --format json)
    echo "kanary judge on the 1M-point file, $judge: max RSS $total MB, $(wall_s) s"
  done
fi
