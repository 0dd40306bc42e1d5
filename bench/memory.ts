/**
 * `npm run bench:memory` — the embedded stack's memory with a large upload. Starts `secure-transcode up` on a fresh
 * data directory in its own process group, uploads a generated file (1.5 GiB by default; random bytes, so the
 * transcoder rejects it after decrypting it — the upload, the encrypt step and the transcoder's download and
 * decryption all run) under `incoming/`, samples the stack process's RSS every 100 ms until the execution's
 * notification arrives, then stops the stack and prints the peak per phase. JSON goes to bench/results/.
 *
 *   --size-mib 1536 (BENCH_MEMORY_MIB)   --keep (leave the data directory for inspection)
 */
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import type { EndpointsJson } from '../local/stack/index.js';
import { uploadFile } from '../local/stack/upload.js';

const MiB = 1024 * 1024;
const ROOT = resolve(import.meta.dirname ?? '.', '..');

const { values } = parseArgs({
  options: { 'size-mib': { type: 'string' }, keep: { type: 'boolean' } },
});
const sizeMiB = Number(values['size-mib'] ?? process.env.BENCH_MEMORY_MIB ?? 1536);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMiB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function writeSource(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path);
  const chunk = Buffer.alloc(8 * MiB);
  for (let done = 0; done < bytes; done += chunk.length) {
    randomFillSync(chunk);
    const piece = chunk.subarray(0, Math.min(chunk.length, bytes - done));
    if (!out.write(piece)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r, j) => {
    out.once('error', j);
    out.end(() => r());
  });
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'st-bench-memory-'));
  const dataDir = join(work, 'data');
  const source = join(work, 'source.mp4');
  console.log(`writing a ${sizeMiB} MiB source…`);
  await writeSource(source, sizeMiB * MiB);

  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin/secure-transcode.js'), 'up', '--data-dir', dataDir],
    {
      detached: true,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, LOG_LEVEL: 'WARN' },
    },
  );
  const pid = child.pid ?? 0;
  const stopStack = async () => {
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      // already gone
    }
    await new Promise((r) => child.once('exit', r));
  };

  let phase = 'idle';
  const peaks: Record<string, number> = {};
  const samples: Array<[number, string, number]> = [];
  const started = Date.now();
  const sampler = setInterval(() => {
    const rss = rssMiB(pid);
    if (rss === undefined) return;
    samples.push([Date.now() - started, phase, Math.round(rss)]);
    peaks[phase] = Math.max(peaks[phase] ?? 0, rss);
  }, 100);

  try {
    const endpointsPath = join(dataDir, 'endpoints.json');
    for (let i = 0; i < 600 && !existsSync(endpointsPath); i++) await sleep(100);
    if (!existsSync(endpointsPath)) throw new Error('the stack did not start');
    const config = JSON.parse(readFileSync(endpointsPath, 'utf8')) as EndpointsJson;
    await sleep(1000);
    const s3 = new S3Client({
      endpoint: config.endpoints.s3,
      region: config.region,
      credentials: config.credentials,
      forcePathStyle: true,
    });
    const key = `${config.inputPrefix}bench-memory-${Date.now()}.mp4`;
    phase = 'upload';
    const uploadStart = Date.now();
    await uploadFile(s3, { bucket: config.bucket, key, body: createReadStream(source) });
    const uploadSeconds = (Date.now() - uploadStart) / 1000;
    phase = 'workflow';
    const workflowStart = Date.now();
    let notification:
      | { status?: string; error?: { code?: string; message?: string; step?: string } }
      | undefined;
    for (let i = 0; i < 20 * 60 * 10 && !notification; i++) {
      await sleep(100);
      if (!existsSync(config.notificationsFile)) continue;
      const line = readFileSync(config.notificationsFile, 'utf8').trim().split('\n').at(-1);
      if (line) notification = JSON.parse(line) as typeof notification;
    }
    const workflowSeconds = (Date.now() - workflowStart) / 1000;
    s3.destroy();
    phase = 'stop';
    const stopStart = Date.now();
    clearInterval(sampler);
    await stopStack();
    const stopSeconds = (Date.now() - stopStart) / 1000;

    const peak = Math.max(...Object.values(peaks));
    const result = {
      when: new Date().toISOString(),
      node: process.version,
      sizeMiB,
      peakRssMiB: Math.round(peak),
      peakRssMiBByPhase: Object.fromEntries(Object.entries(peaks).map(([k, v]) => [k, Math.round(v)])),
      uploadSeconds,
      workflowSeconds,
      stopSeconds,
      notification: notification
        ? { status: notification.status, error: notification.error?.code, step: notification.error?.step }
        : null,
      samples,
    };
    const dir = join(ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `memory-${result.when.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(
      `peak stack RSS ${result.peakRssMiB} MiB (${Object.entries(result.peakRssMiBByPhase)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}); upload ${uploadSeconds.toFixed(1)} s, workflow ${workflowSeconds.toFixed(1)} s ` +
        `(${notification?.status ?? 'no notification'}${notification?.error ? ` at ${notification.error.step}: ${notification.error.code}` : ''}), stop ${stopSeconds.toFixed(1)} s`,
    );
    console.log(`written to ${file}`);
  } finally {
    clearInterval(sampler);
    if (child.exitCode === null) await stopStack();
    if (!values.keep) await rm(work, { recursive: true, force: true });
    else console.log(`kept ${work}`);
  }
}

await main();
