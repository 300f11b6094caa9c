#!/usr/bin/env bash
# Installs what Layerlift's tests and demo need, on a fresh Debian machine, and nothing twice:
# the real parts (CNCF registry, Docker engine, Podman, skopeo, htpasswd, static busybox, openssl) and
# the npm dependencies. Called by `npm test`, `npm run demo` and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

need_debian=()
for package in docker-registry docker.io podman skopeo apache2-utils busybox-static openssl; do
  dpkg -s "$package" >/dev/null 2>&1 || need_debian+=("$package")
done
if [ ${#need_debian[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing Debian packages: ${need_debian[*]} (run as root, or: sudo apt-get install ${need_debian[*]})" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${need_debian[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_debian[@]}" >/dev/null
fi

# npm ci when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi

# code-server, its Node 24 and Chromium, for the extension's tests inside a real VS Code.
bash scripts/setup-code-server.sh
