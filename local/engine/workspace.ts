/**
 * Where the engine's jobs keep their files: the downloaded input, the decrypted input and the HLS key file are secrets,
 * so they live under the data directory (0700), never in the shared /tmp, and every job removes its own directory
 * when it ends. A stack killed mid-job cannot do that, so the next start sweeps the whole workspace before any job
 * runs. ffmpeg is started through `setpriv --pdeathsig KILL` where util-linux has it, so a transcode dies with the
 * stack process instead of running on as an orphan (a killed process group takes it down either way).
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SETPRIV = '/usr/bin/setpriv';

/** Empties (what a crash left) and creates `<dataDir>/<service>/work`, one per front-end; returns its path. */
export function prepareWorkspace(dataDir: string, service: string): string {
  const work = join(dataDir, service, 'work');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true, mode: 0o700 });
  return work;
}

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * An executable that runs `ffmpeg` with its parent-death signal set to SIGKILL (Linux), or `ffmpeg` itself where
 * setpriv is missing. The wrapper `exec`s, so the process the transcoder signals is ffmpeg.
 */
export function ffmpegDyingWithParent(dataDir: string, ffmpeg: string, service: string): string {
  if (process.platform !== 'linux' || !existsSync(SETPRIV)) return ffmpeg;
  const wrapper = join(dataDir, service, 'ffmpeg-pdeathsig.sh');
  writeFileSync(wrapper, `#!/bin/sh\nexec ${SETPRIV} --pdeathsig KILL -- ${shellQuote(ffmpeg)} "$@"\n`, {
    mode: 0o700,
  });
  return wrapper;
}
