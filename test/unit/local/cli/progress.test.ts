import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from '@jest/globals';
import { ProgressView, progressSteps } from '../../../../local/cli/progress.js';

const definition = JSON.parse(readFileSync('statemachines/transcode.asl.json', 'utf8'));

function terminal(isTTY: boolean) {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  stream.isTTY = isTTY;
  stream.columns = 80;
  let text = '';
  stream.on('data', (c: Buffer) => {
    text += c.toString();
  });
  return { io: { stdout: stream, stderr: new PassThrough() }, output: () => text };
}

/** ANSI cursor movement and line clearing (ESC [ n A, ESC [ 2 K). */
const CURSOR_CODES = new RegExp(`${String.fromCharCode(27)}\\[\\d*[A-Z]`, 'g');

const POLL_LOOP = ['WaitForJob', 'PollJob', 'JobFinished'];
const BEFORE_TRANSCODE = [
  'RecordExecution',
  'ValidateSource',
  'GenerateKeys',
  'EncryptSource',
  'EncryptionDone',
  'CompleteUpload',
  'WrapKey',
  'SubmitJob',
];
const LADDER = {
  percent: 40,
  renditions: [
    { name: 'hls-2000k', percent: 38 },
    { name: 'hls-1000k', percent: 40 },
    { name: 'hls-400k', percent: 40 },
  ],
};

describe('progress view', () => {
  let view: ProgressView | undefined;
  afterEach(() => view?.close());

  it('folds the encrypt and poll loops of the ASL into one step each', () => {
    // Act
    const plan = progressSteps(definition);

    // Assess
    expect(plan.labels).toEqual([
      'RecordExecution',
      'ValidateSource',
      'GenerateKeys',
      'EncryptSource',
      'CompleteUpload',
      'WrapKey',
      'SubmitJob',
      'PollJob',
      'DisposeSource',
      'NotifySuccess',
    ]);
    expect(POLL_LOOP.map((s) => plan.stepOf.get(s))).toEqual([8, 8, 8]);
  });

  it('keeps the step counter still while the workflow goes round the poll loop', () => {
    // Prepare
    let now = 1_000;
    const { io } = terminal(true);
    view = new ProgressView(io, definition, () => now);
    view.add('k', 'movie.mp4');
    view.started('k', 'exec');
    for (const state of BEFORE_TRANSCODE) view.entered('k', state);

    // Act
    const lines: string[] = [];
    for (let round = 0; round < 20; round++) {
      for (const state of POLL_LOOP) {
        view.entered('k', state);
        now += 1000;
        lines.push(view.linesOf('k')[0] ?? '');
      }
    }

    // Assess
    expect(new Set(lines.map((l) => /\s(\d+)\/10\s/.exec(l)?.[1]))).toEqual(new Set(['8']));
  });

  it('shows per-rendition progress, elapsed time and an ETA within 79 columns on a TTY', () => {
    // Prepare
    let now = 0;
    const { io, output } = terminal(true);
    view = new ProgressView(io, definition, () => now);
    view.add('k', 'a-file-name-much-longer-than-the-column.mp4');
    view.started('k', 'exec');
    for (const state of [...BEFORE_TRANSCODE, ...POLL_LOOP]) view.entered('k', state);
    view.transcoding('k', { ...LADDER, percent: 10 });
    now = 12_000;

    // Act
    view.transcoding('k', LADDER);
    view.draw();

    // Assess
    const lines = output()
      .split('\n')
      .map((l) => l.replace(CURSOR_CODES, ''))
      .filter(Boolean);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/ 8\/10 transcode 40% ETA 18 s +12\.0 s$/);
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^ {2}hls-2000k +█+░+ +38%$/),
      expect.stringMatching(/^ {2}hls-1000k +█+░+ +40%$/),
      expect.stringMatching(/^ {2}hls-400k +█+░+ +40%$/),
    ]);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(79);
  });

  it('prints plain lines without escape codes when not a TTY, progress at most every 5 s', () => {
    // Prepare
    let now = 0;
    const { io, output } = terminal(false);
    view = new ProgressView(io, definition, () => now);
    view.add('k', 'movie.mp4');
    view.started('k', 'exec');
    for (const state of [...BEFORE_TRANSCODE, ...POLL_LOOP, ...POLL_LOOP]) view.entered('k', state);

    // Act
    for (let t = 0; t <= 10_000; t += 500) {
      now = t;
      view.transcoding('k', { ...LADDER, percent: Math.min(99, t / 110) });
    }
    view.transcoding('k', {
      percent: 100,
      renditions: LADDER.renditions.map((r) => ({ ...r, percent: 100 })),
    });
    view.entered('k', 'NotifySuccess');
    view.finished('k', 'SUCCEEDED');

    // Assess
    const text = output();
    expect(text).not.toContain('\x1b');
    const progress = text.split('\n').filter((l) => l.includes('transcode'));
    expect(progress).toEqual([
      'movie.mp4: transcode 0% (hls-2000k 38%, hls-1000k 40%, hls-400k 40%)',
      'movie.mp4: transcode 45%, ETA 6 s (hls-2000k 38%, hls-1000k 40%, hls-400k 40%)',
      'movie.mp4: transcode 90%, ETA 1 s (hls-2000k 38%, hls-1000k 40%, hls-400k 40%)',
      'movie.mp4: transcode 100% (hls-2000k 100%, hls-1000k 100%, hls-400k 100%)',
    ]);
    expect(text.split('\n').filter((l) => l.includes('PollJob'))).toEqual(['movie.mp4: [8/10] PollJob']);
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(79);
  });
});
