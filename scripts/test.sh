#!/usr/bin/env bash
# The test command (README): installs what the tests need on a fresh machine, then runs every suite.
#   - Debian packages: awscli and python3-boto3 (Debian's own clients are driven against a running stack in the
#     KMS and stack-access tests), chromium (playback browser test), ffmpeg (the maintained build the local
#     transcoder prefers over the bundled 2018 one; README.md "ffmpeg").
#   - the project's pinned Node 22 (package.json optionalDependencies, the lockfile's exact tarball), which then
#     runs npm itself, so npm checks every package's `engines` against the Node that runs it and install scripts
#     run on it too; whatever the machine's own Node is (README.md "Runtime").
#   - npm dependencies, exactly as the lockfile pins them (npm ci); every suite then runs on the pinned Node.
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

# shellcheck source=scripts/pinned-node.sh
source scripts/pinned-node.sh
echo "npm and the tests run on Node $(node --version)"

# The lockfile carries every platform's optional entries (as `npm install` writes them), so `npm ci` installs exactly it.
npm ci --no-fund --no-audit

npm test
