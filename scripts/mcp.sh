#!/usr/bin/env bash
# Installs the reference MCP filesystem server (pinned) for the preflight-mcp and preflight-cli
# tests, and exports PREFLIGHT_MCP_FS_SERVER: the path of its entry script, run with `node`.
#
# Idempotent: a second run finds the pinned version installed and only prints the export.
# Source it (`. scripts/mcp.sh`) to set the variable in the current shell, or eval its output.
FS_SERVER_VERSION="2026.8.31"
PREFIX="${PREFLIGHT_MCP_PREFIX:-/tmp/preflight-mcp-servers}"
ENTRY="$PREFIX/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        apt-get update >/dev/null && apt-get install -y nodejs npm >/dev/null || {
            echo "scripts/mcp.sh: could not install node and npm" >&2
            return 1 2>/dev/null || exit 1
        }
    else
        echo "scripts/mcp.sh: node and npm are required" >&2
        return 1 2>/dev/null || exit 1
    fi
fi

installed=""
if [ -f "$PREFIX/node_modules/@modelcontextprotocol/server-filesystem/package.json" ]; then
    installed="$(node -p "require('$PREFIX/node_modules/@modelcontextprotocol/server-filesystem/package.json').version")"
fi
if [ "$installed" != "$FS_SERVER_VERSION" ]; then
    mkdir -p "$PREFIX"
    npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error \
        "@modelcontextprotocol/server-filesystem@$FS_SERVER_VERSION" >&2 || {
        echo "scripts/mcp.sh: npm install failed" >&2
        return 1 2>/dev/null || exit 1
    }
fi

if [ ! -f "$ENTRY" ]; then
    echo "scripts/mcp.sh: $ENTRY is missing after install" >&2
    return 1 2>/dev/null || exit 1
fi

export PREFLIGHT_MCP_FS_SERVER="$ENTRY"
echo "export PREFLIGHT_MCP_FS_SERVER=$ENTRY"
