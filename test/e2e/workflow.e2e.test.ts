/**
 * The whole workflow on the default backend (MediaConvert, as deployed) and the `secure-transcode run` command;
 * workflow-elastictranscoder.e2e.test.ts runs the same suite on Elastic Transcoder.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateSampleClip } from '../../local/cli/sample.js';
import { FFMPEG } from '../support/ffmpeg.js';
import { describeWorkflow } from '../support/workflow-suite.js';

const ROOT = resolve('.');

describeWorkflow('mediaconvert');

describe('secure-transcode run', () => {
  function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'secure-transcode.js'), ...args], {
        cwd: ROOT,
        env: { ...process.env, LOG_LEVEL: 'SILENT' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
      });
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      child.once('error', reject);
      child.once('close', (code) => resolvePromise({ code, stdout, stderr }));
    });
  }

  let work: string;
  const fileState = (path: string) => {
    const st = statSync(path);
    return {
      sha256: createHash('sha256').update(readFileSync(path)).digest('hex'),
      size: st.size,
      mtimeMs: st.mtimeMs,
    };
  };

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'st-run-'));
  });

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('exits non-zero when the job fails', async () => {
    // Prepare
    const corrupt = join(work, 'corrupt.mp4');
    writeFileSync(corrupt, Buffer.alloc(200_000, 0x33));
    const before = fileState(corrupt);

    // Act
    const result = await runCli(['run', '--fast', corrupt, '--data-dir', join(work, 'data')]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('✖ corrupt.mp4  FAILED');
    expect(fileState(corrupt)).toEqual(before);
  }, 120_000);

  it('keeps the KMS key, executions and objects of the data directory for the next run, and the user files as they were', async () => {
    // Prepare
    const dataDir = join(work, 'data');
    const keyBefore = JSON.parse(readFileSync(join(dataDir, 'stack-state.json'), 'utf8')).kmsKeyArn;
    const clipFile = join(work, 'good.mp4');
    await generateSampleClip(FFMPEG, clipFile, 1, '160x120');
    const before = fileState(clipFile);

    // Act
    const result = await runCli(['run', '--fast', clipFile, '--data-dir', dataDir]);
    const status = await runCli(['status', '--json', '--data-dir', dataDir]);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('✔ good.mp4  SUCCEEDED');
    expect(result.stdout).toMatch(/player\s+http:\/\/127\.0\.0\.1:\d+\/player\/\?asset=a[0-9a-f]+&token=/);
    expect(JSON.parse(readFileSync(join(dataDir, 'stack-state.json'), 'utf8')).kmsKeyArn).toBe(keyBefore);
    const listed = JSON.parse(status.stdout) as {
      stack: { running: boolean };
      executions: Array<{ status: string; input: string }>;
    };
    expect(listed.stack.running).toBe(false);
    expect(listed.executions.map((e) => [JSON.parse(e.input).source.key, e.status])).toEqual([
      ['incoming/good.mp4', 'SUCCEEDED'],
      ['incoming/corrupt.mp4', 'FAILED'],
    ]);
    // The objects are on disk after the run: one metadata file per version beside its bytes.
    const objectsDir = join(dataDir, 's3', 'buckets', 'secure-transcode-local', 'objects');
    const storedKeys = readdirSync(objectsDir).flatMap((shard) =>
      readdirSync(join(objectsDir, shard)).flatMap((h) =>
        readdirSync(join(objectsDir, shard, h))
          .filter((f) => f.endsWith('.json'))
          .map(
            (f) => (JSON.parse(readFileSync(join(objectsDir, shard, h, f), 'utf8')) as { key: string }).key,
          ),
      ),
    );
    // The uploaded copy of the good file is gone (SOURCE_RETENTION=delete), the failed one's copy stays; the user's
    // own files are untouched either way.
    expect(storedKeys).toContain('incoming/corrupt.mp4');
    expect(storedKeys).not.toContain('incoming/good.mp4');
    expect(fileState(clipFile)).toEqual(before);
    expect(result.stdout).toContain('your files are left as they are; SOURCE_RETENTION=delete');
  }, 120_000);

  it('exits with a clear error for a file that does not exist', async () => {
    // Act
    const result = await runCli([
      'run',
      '/nonexistent/video.mp4',
      '--data-dir',
      join(tmpdir(), 'st-run-missing'),
    ]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('File not found: /nonexistent/video.mp4');
  }, 60_000);
});
