# Sourced by scripts/start.sh and scripts/test.sh (from the project root): puts the project's pinned Node first on
# PATH, so npm and everything it starts run on it, whatever Node the machine has (README.md "Runtime").
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
