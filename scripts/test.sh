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

# npm checks `engines` against the Node that runs npm, and has no setting to check against another one: fetch the
# pinned Node first (the very tarball the lockfile names, checked against its integrity; npm's cache then serves it
# to npm ci) and run npm on it.
platform_pkg="node-$(node -p 'process.platform')-$(node -p 'process.arch')"
read -r pinned_version pinned_integrity < <(node -e '
  const entry = require("./package-lock.json").packages["node_modules/" + process.argv[1]];
  if (entry) console.log(entry.version, entry.integrity);' "$platform_pkg") || true
if [ -n "${pinned_version:-}" ]; then
  bootstrap=.ci/node/$platform_pkg-$pinned_version
  if [ ! -x "$bootstrap/bin/node" ]; then
    unpacking="$bootstrap.partial"
    rm -rf "$bootstrap" "$unpacking" && mkdir -p "$unpacking"
    tarball=$(npm pack --silent --pack-destination "$unpacking" "$platform_pkg@$pinned_version")
    actual="sha512-$(openssl dgst -sha512 -binary "$unpacking/$tarball" | base64 -w0)"
    if [ "$actual" != "$pinned_integrity" ]; then
      echo "the $platform_pkg@$pinned_version tarball does not match package-lock.json's integrity" >&2
      exit 1
    fi
    tar -xzf "$unpacking/$tarball" -C "$unpacking" --strip-components=1 && rm "$unpacking/$tarball"
    mv "$unpacking" "$bootstrap"
  fi
  export PATH="$PWD/$bootstrap/bin:$PATH"
else
  echo "no pinned Node for $platform_pkg (package.json optionalDependencies): using $(node --version)"
fi
echo "npm and the tests run on Node $(node --version)"

# The lockfile carries every platform's optional entries (as `npm install` writes them), so `npm ci` installs exactly it.
npm ci --no-fund --no-audit

npm test
