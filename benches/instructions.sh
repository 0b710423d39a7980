#!/usr/bin/env bash
# Instructions per call on the client's thread, counted by callgrind: a figure free of the timing
# noise of a shared machine, for comparing a change against raw reqwest.
#
#   benches/instructions.sh [driver...]     # default: raw toolkit middleware; needs valgrind
#   FEATURES=fleet benches/instructions.sh raw toolkit fleet   # every driver in that build
#
# Each driver makes sequential `GET /small` calls (the benchmark's `--allocs` mode) twice, with
# 2,000 and 12,000 measured calls; the difference of the two totals, over the difference in
# calls made (each run adds a quarter for warm-up), is the cost of one call without start-up.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
# The front ends' drivers need the bench's `front-ends` feature, the fleet's (`fleet`, `fleet-all`,
# which start a redis-server of their own) its `fleet` feature. A feature moves every driver's
# count (compare the success path's guard, raw against toolkit, in a build without it);
# FEATURES=a,b builds with more of the bench's features, to count raw and toolkit in that build.
features=${FEATURES:-}
feature() { case ",$features," in *",$1,"*) ;; *) features=${features:+$features,}$1 ;; esac; }
for driver in "$@"; do
    case $driver in
        service | layer | toolkit-middleware) feature front-ends ;;
        fleet | fleet-all) feature fleet ;;
    esac
done
cargo build --release --quiet -p api-toolkit-bench ${features:+--features "$features"}
[ -z "$features" ] || echo "features: $features"
bin=${CARGO_TARGET_DIR:-target}/release/api-toolkit-bench
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Total instructions of the client's thread (the main thread, callgrind's part 1).
client_instructions() {
    awk '/^summary:/ { print $2 }' "$out"/"$1".*-01
}

drivers=("$@")
[ ${#drivers[@]} -gt 0 ] || drivers=(raw toolkit middleware)
baseline=""
for driver in "${drivers[@]}"; do
    for calls in 2000 12000; do
        valgrind --tool=callgrind --separate-threads=yes \
            --callgrind-out-file="$out/$driver.$calls.%p" \
            "$bin" --allocs --driver "$driver" --alloc-calls "$calls" >/dev/null 2>&1
    done
    small=$(client_instructions "$driver.2000")
    large=$(client_instructions "$driver.12000")
    per_call=$(( (large - small) / 12500 ))
    baseline=${baseline:-$per_call}
    awk -v d="$driver" -v n="$per_call" -v b="$baseline" \
        'BEGIN { printf "%-11s %7d instructions/call  %+6d (%+.2f%%) over the first driver\n", d, n, n - b, 100 * (n - b) / b }'
done
