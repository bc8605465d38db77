#!/usr/bin/env bash
# Runs the execution oracle: every shell case of the corpus and its generated rewrites, each in
# a throwaway bubblewrap sandbox under strace, checked against what inspection derived.
#
#   scripts/soundness.sh              the full command set
#   scripts/soundness.sh --sample N   a deterministic sample of N commands
#
# Installs strace and bubblewrap from Debian when missing, builds the binary, and ends with
#   soundness: N commands run, M effects observed, K unsound
# exiting non-zero when K > 0. Failures are in target/soundness/failures.jsonl.
# Extra arguments go to the binary (see `preflight-soundness --help`).
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for tool in strace:strace bwrap:bubblewrap prlimit:util-linux git:git; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool##*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing ${missing[*]}" >&2
  sudo_if_needed apt-get update -qq >&2
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

echo "== building preflight-soundness" >&2
cargo build -q -p preflight-soundness >&2
target_dir=$(cargo metadata --format-version 1 --no-deps \
  | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
binary="$target_dir/debug/preflight-soundness"

# Per-command trees go to a tmpfs. As root, a private mount namespace gets a tmpfs of bounded
# size that disappears with the run; otherwise /dev/shm (or the target directory) is used.
workdir_base=/dev/shm
[ -d "$workdir_base" ] && [ -w "$workdir_base" ] || workdir_base="$target_dir"
workdir="$workdir_base/preflight-soundness-$$"
mkdir -p target/soundness

status=0
if [ "$(id -u)" -eq 0 ] && unshare --mount --propagation private true 2>/dev/null; then
  mkdir -p "$workdir"
  unshare --mount --propagation private -- bash -c '
    mount -t tmpfs -o size=2g,mode=0755 preflight-soundness "$1" && shift && exec "$@"' \
    _ "$workdir" "$binary" --workdir "$workdir" --out target/soundness "$@" || status=$?
  rmdir "$workdir" 2>/dev/null || true
else
  "$binary" --workdir "$workdir" --out target/soundness "$@" || status=$?
  rm -rf "$workdir"
fi
exit "$status"
