/**
 * Output groups: outputs packaged together under one destination, the unit both services describe a job in. Every
 * output of every group is one rendition of ONE ladder run (one decode); each group then names, packages and uploads
 * its own files. HLS is the one kind today; DASH and CMAF groups join the `OutputGroup` union with their own
 * packaging step beside `hlsFiles`.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { EngineError } from './errors.js';
import { masterPlaylist, type Variant } from './hls.js';
import type { PreparedInput } from './input.js';
import { uploadFile } from './s3io.js';
import type { RenditionSettings } from './settings.js';
import {
  type LadderProgress,
  type RenditionPlan,
  type RenditionResult,
  transcodeLadder,
} from './transcode.js';

export interface GroupOutput {
  /** Base name of the output's files: `<name>.m3u8` and its segments, in the group's folder. */
  name: string;
  settings: RenditionSettings;
}

/** An HLS group: one variant playlist per output, a master playlist over them, all in one folder. */
export interface HlsGroup {
  type: 'hls';
  destination: { bucket: string; folder: string };
  /** The master playlist's name without `.m3u8`. */
  master: string;
  segmentSeconds: number;
  /** AES-128 for every output of the group: the 16-byte key, its IV and the EXT-X-KEY URI. */
  encryption?: { key: Buffer; iv: Buffer; uri: string };
  /** Segment names `<name><separator><n>.ts`, n five digits counted from `first` (ffmpeg writes `<name>00000.ts`). */
  segmentNames: { separator: string; first: number };
  outputs: GroupOutput[];
}

/** The groups the engine packages. DASH and CMAF groups are the next members: `HlsGroup | DashGroup | CmafGroup`. */
export type OutputGroup = HlsGroup;

export interface EncodedOutput {
  name: string;
  /** The output's private directory and the files in it (segments and its playlist). */
  dir: string;
  files: string[];
  /** Object key of the output's playlist. */
  playlistKey: string;
  durationMillis: number;
  width?: number;
  height?: number;
  variant: Variant;
}

export interface EncodedGroup {
  group: OutputGroup;
  /** Object key of the group's master playlist. */
  masterKey: string;
  outputs: EncodedOutput[];
}

export interface EncodeOptions {
  /** The job's private directory. */
  work: string;
  signal?: AbortSignal;
  onProgress?: (progress: LadderProgress) => void;
}

/** A file's object key in the group's folder. */
function groupKey(group: OutputGroup, file: string): string {
  return group.destination.folder ? `${group.destination.folder}/${file}` : file;
}

/** The playlist keys of every output of every group, in ladder order (what progress reports name). */
export function outputKeys(groups: OutputGroup[]): string[] {
  return groups.flatMap((g) => g.outputs.map((o) => groupKey(g, `${o.name}.m3u8`)));
}

/** Encodes every output of `groups` in one ladder run and names each group's files; nothing is uploaded yet. */
export async function encodeGroups(
  ffmpeg: string,
  input: PreparedInput,
  groups: OutputGroup[],
  options: EncodeOptions,
): Promise<EncodedGroup[]> {
  const plans: RenditionPlan[] = [];
  for (const [g, group] of groups.entries()) {
    for (const [o, output] of group.outputs.entries()) {
      const dir = join(options.work, `group-${g}-output-${o}`);
      await mkdir(dir, { mode: 0o700 });
      plans.push({
        settings: output.settings,
        dir,
        base: output.name,
        segmentDuration: group.segmentSeconds,
        ...(group.encryption ? { encryption: group.encryption } : {}),
      });
    }
  }
  const results = await transcodeLadder(
    ffmpeg,
    { inputFile: input.file, input: input.info, renditions: plans },
    {
      tempDir: options.work,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    },
  );
  let next = 0;
  const encoded: EncodedGroup[] = [];
  for (const group of groups) {
    const outputs: EncodedOutput[] = [];
    for (const output of group.outputs) {
      const i = next++;
      outputs.push(await hlsFiles(group, output, plans[i] as RenditionPlan, results[i] as RenditionResult));
    }
    encoded.push({ group, masterKey: groupKey(group, `${group.master}.m3u8`), outputs });
  }
  return encoded;
}

async function hlsFiles(
  group: HlsGroup,
  output: GroupOutput,
  plan: RenditionPlan,
  result: RenditionResult,
): Promise<EncodedOutput> {
  const files = await renameSegments(plan.dir, output.name, result.files, group.segmentNames);
  const size = result.width !== undefined && result.height !== undefined;
  return {
    name: output.name,
    dir: plan.dir,
    files,
    playlistKey: groupKey(group, `${output.name}.m3u8`),
    durationMillis: result.durationMillis,
    ...(size ? { width: result.width, height: result.height } : {}),
    variant: {
      key: output.name,
      settings: output.settings,
      ...(size ? { width: result.width, height: result.height } : {}),
      ...(result.codecs ? { codecs: result.codecs } : {}),
      bandwidth: result.bandwidth ?? 0,
    },
  };
}

/** Segment `<name>00000.ts` → `<name><separator><first>.ts`, in the files and in the playlist. */
export async function renameSegments(
  dir: string,
  name: string,
  files: string[],
  naming: HlsGroup['segmentNames'],
): Promise<string[]> {
  if (naming.separator === '' && naming.first === 0) return files;
  const pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\d{5})\\.ts$`);
  const renamed = new Map<string, string>();
  for (const f of files) {
    const m = pattern.exec(f);
    if (!m) continue;
    const target = `${name}${naming.separator}${String(Number(m[1]) + naming.first).padStart(5, '0')}.ts`;
    await rename(join(dir, f), join(dir, target));
    renamed.set(f, target);
  }
  const playlist = join(dir, `${name}.m3u8`);
  const text = await readFile(playlist, 'utf8');
  await writeFile(
    playlist,
    text
      .split('\n')
      .map((line) => renamed.get(line.trim()) ?? line)
      .join('\n'),
  );
  return files.map((f) => renamed.get(f) ?? f);
}

/**
 * Uploads what `encodeGroups` wrote. Segments first, then variant playlists, then the master: a reader who finds
 * a playlist finds what it names. A refused write is EngineError OutputWriteFailed naming the object.
 */
export async function uploadGroups(
  s3: S3Client,
  encoded: EncodedGroup[],
  options: { work: string; signal?: AbortSignal },
): Promise<void> {
  for (const [g, { group, masterKey, outputs }] of encoded.entries()) {
    const bucket = group.destination.bucket;
    const upload = (key: string, path: string) =>
      uploadFile(s3, bucket, key, path, options.signal).catch((e: unknown) => {
        if (options.signal?.aborted) throw e;
        throw new EngineError('OutputWriteFailed', `bucket=${bucket}, key=${key}`, { bucket, key });
      });
    for (const o of outputs) {
      for (const f of o.files.filter((f) => !f.endsWith('.m3u8')))
        await upload(groupKey(group, f), join(o.dir, f));
    }
    for (const o of outputs) await upload(o.playlistKey, join(o.dir, `${o.name}.m3u8`));
    const master = join(options.work, `master-${g}.m3u8`);
    await writeFile(
      master,
      masterPlaylist(
        group.master,
        outputs.map((o) => o.variant),
      ),
      { mode: 0o600 },
    );
    await upload(masterKey, master);
  }
}
