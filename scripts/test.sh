#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need (PostgreSQL,
# Chromium and ChromeDriver, the MCP filesystem server, a local model server for the LLM judge,
# strace and bubblewrap, cargo-nextest),
# starts the throwaway services, runs a sample of the soundness oracle, then builds once and
# runs every test binary of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each setup script is idempotent and prints `export NAME=value` lines for the tests.
for setup in scripts/postgres.sh scripts/chromium.sh scripts/mcp.sh scripts/llm.sh; do
  if [ -x "$setup" ]; then
    echo "== $setup" >&2
    exports=$("$setup")
    eval "$exports"
  fi
done

# The execution oracle on a deterministic sample: installs strace and bubblewrap (which the
# sandbox tests of preflight-soundness also need) and fails when inspection missed an effect.
# `scripts/soundness.sh` alone runs the whole command set.
echo "== scripts/soundness.sh --sample 300" >&2
scripts/soundness.sh --sample 300

if ! command -v cargo-nextest >/dev/null 2>&1; then
  cargo install --locked cargo-nextest
fi

# Default members only (the Cedar comparison bench is built only when benchmarking). One build
# is shared by every test binary; doctests run separately (nextest does not run them).
cargo nextest run --all-features --no-fail-fast
cargo test --all-features --doc
