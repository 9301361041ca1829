#!/usr/bin/env bash
# Install Stoplight Prism (the OpenAPI mock server, from the npm registry) into
# tests/.tmp/prism unless it is already there, and print the path of its binary.
#   tests/contract/setup_prism.sh          -> /…/tests/.tmp/prism/node_modules/.bin/prism
# PRISM_PREFIX overrides the install directory; npm honours its usual npm_config_* settings.
# Exit status: 0 with the path on stdout; 3 when npm cannot reach its registry
# (the caller may skip); 1 on any other failure (npm/node missing, broken install).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PREFIX="${PRISM_PREFIX:-$(cd "$HERE/.." && pwd)/.tmp/prism}"
BIN="$PREFIX/node_modules/.bin/prism"

if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then
    echo "$BIN"
    exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "setup_prism: npm is not installed (apt-get install npm)" >&2; exit 1; }
mkdir -p "$PREFIX"
log="$PREFIX/npm-install.log"
if ! npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error \
        @stoplight/prism-cli@5 >"$log" 2>&1; then
    # ENOTFOUND / ECONNREFUSED / ETIMEDOUT / EAI_AGAIN ...: the registry is unreachable
    if grep -qE 'ENOTFOUND|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|ENETUNREACH|EHOSTUNREACH|network|proxy' "$log"; then
        echo "setup_prism: npm registry unreachable: $(grep -m1 -E 'ENOTFOUND|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|ENETUNREACH|EHOSTUNREACH|network|proxy' "$log")" >&2
        exit 3
    fi
    echo "setup_prism: npm install failed (log: $log):" >&2
    tail -20 "$log" >&2
    exit 1
fi
"$BIN" --version >/dev/null 2>&1 || { echo "setup_prism: $BIN does not run" >&2; exit 1; }
echo "$BIN"
