#!/usr/bin/env bash
# The main job (README): installs the npm dependencies with the project's pinned Node, then runs `npm start`
# (`secure-transcode run`: local stack, a generated sample clip, the whole workflow, the notification and a player
# URL). Arguments go to `secure-transcode run`, e.g. `./scripts/start.sh movie.mp4 --backend elastictranscoder`.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/pinned-node.sh
source scripts/pinned-node.sh
npm install --no-fund --no-audit
exec npm start -- "$@"
