/**
 * `secure-transcode run --serve` with two files, as a user runs it, then everything a user does against that running
 * stack: `token`, `play`, `status`, `encrypt` with KMS, a hand-made `start-execution` and a foreign message on the
 * notification topic through the official AWS CLI, and the console in headless Chromium (executions, the graph of
 * every ASL state, notifications, the player, a reused and a forged token). Screenshots go to test-artifacts/.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Page } from 'playwright-core';
import { queueDepth } from '../../bench/chaos/run.js';
import { main } from '../../local/cli/main.js';
import { generateSampleClip } from '../../local/cli/sample.js';
import { ExecutionStore } from '../../local/sfn/store.js';
import type { EndpointsJson, Notification } from '../../local/stack/index.js';
import { type Browser, forgeToken, launchChromium } from '../support/browser-player.js';
import { captureIo } from '../support/cli-io.js';
import { FFMPEG } from '../support/ffmpeg.js';

jest.setTimeout(60_000);

const ARTIFACTS = resolve('test-artifacts');
const ASL = JSON.parse(readFileSync(resolve('statemachines/transcode.asl.json'), 'utf8')) as {
  States: Record<string, unknown>;
};
const execFileAsync = promisify(execFile);

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const readNotifications = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Notification & { unparsable?: string; reason?: string });

/** The environment of a fresh shell: none of the stack's AWS_* variables this process has set. */
function shellEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  return { ...env, AWS_EC2_METADATA_DISABLED: 'true', ...extra };
}

describe('the local console and the CLI against a running `run --serve` stack', () => {
  let work: string;
  let dataDir: string;
  let endpoints: EndpointsJson;
  let run: Promise<number>;
  const abort = new AbortController();
  const runIo = captureIo();
  let browser: Browser;
  let page: Page;
  let awsEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'st-console-'));
    dataDir = join(work, 'data');
    mkdirSync(ARTIFACTS, { recursive: true });
    await generateSampleClip(FFMPEG, join(work, 'holiday.mp4'), 4, '640x360');
    await generateSampleClip(FFMPEG, join(work, 'short clip.mp4'), 2, '160x120');
    run = main(
      [
        'run',
        join(work, 'holiday.mp4'),
        join(work, 'short clip.mp4'),
        '--fast',
        '--serve',
        '--data-dir',
        dataDir,
      ],
      runIo.io,
    );
    // `main` has no signal parameter: the run command stops on SIGINT like in a terminal, so the test aborts it
    // through the same path by emitting the event the handler listens for.
    void abort;
    await until(
      'the stack to serve',
      () => (runIo.out().includes('Serving the stack') ? true : undefined),
      90_000,
    );
    endpoints = JSON.parse(readFileSync(join(dataDir, 'endpoints.json'), 'utf8')) as EndpointsJson;
    awsEnv = shellEnv({
      AWS_ACCESS_KEY_ID: endpoints.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: endpoints.credentials.secretAccessKey,
      AWS_DEFAULT_REGION: endpoints.region,
    });
    browser = await launchChromium();
    page = await browser.context.newPage();
    await page.setViewportSize({ width: 1400, height: 900 });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    process.emit('SIGINT', 'SIGINT');
    await run?.catch(() => undefined);
    if (work) await rm(work, { recursive: true, force: true });
  }, 60_000);

  const succeeded = () =>
    readNotifications(endpoints.notificationsFile).filter((n) => n.status === 'SUCCEEDED' && n.playback);
  const holidayAsset = () =>
    succeeded().find((n) => n.source.key === 'incoming/holiday.mp4')?.playback?.assetId ?? '';

  it('ends a run of several files with a summary line and the same durations in progress and results', () => {
    // Act
    const out = runIo.out();
    const progress = [...out.matchAll(/^(.+\.mp4): SUCCEEDED in (.+?)$/gm)].map((m) => [m[1], m[2]]);
    const results = [...out.matchAll(/^ {2}✔ (.+\.mp4) {2}SUCCEEDED in (.+?) {2}\(execution/gm)].map((m) => [
      m[1],
      m[2],
    ]);
    // Assess
    expect(out).toMatch(/^✔ 2 of 2 job\(s\) succeeded in .+$/m);
    expect(progress).toHaveLength(2);
    expect(new Map(results as Array<[string, string]>)).toEqual(new Map(progress as Array<[string, string]>));
    expect(out).toContain(`Console:       ${endpoints.console}`);
    expect(out).toMatch(new RegExp(`exported +.*/exports/holiday-${holidayAsset()}/`));
  });

  it('issues tokens and player URLs with `token` and `play` against the running stack', async () => {
    // Prepare
    const token = captureIo();
    const play = captureIo();
    // Act
    const tokenExit = await main(['token', holidayAsset(), '--json', '--data-dir', dataDir], token.io);
    const playExit = await main(['play', holidayAsset(), '--data-dir', dataDir], play.io);
    // Assess
    expect(token.err()).toBe('');
    expect(tokenExit).toBe(0);
    expect(JSON.parse(token.out())).toMatchObject({
      keyUrl: expect.stringContaining(endpoints.endpoints.keyService),
    });
    expect(playExit).toBe(0);
    expect(play.out()).toContain(`${endpoints.endpoints.keyService}/player/?asset=${holidayAsset()}&token=`);
  });

  it('encrypts with KMS through --endpoint-url and through the stack endpoints.json', async () => {
    // Prepare
    const src = join(work, 'short clip.mp4');
    const cli = resolve('bin/secure-transcode.js');
    // Act
    const viaFlag = await execFileAsync(
      process.execPath,
      [
        cli,
        'encrypt',
        src,
        join(work, 'a.enc'),
        '--kms-key-id',
        endpoints.kmsKeyArn,
        '--endpoint-url',
        endpoints.endpoints.kms,
      ],
      { env: awsEnv },
    );
    const viaStack = await execFileAsync(
      process.execPath,
      [cli, 'encrypt', src, join(work, 'b.enc'), '--kms-key-id', endpoints.kmsKeyArn, '--data-dir', dataDir],
      { env: shellEnv() },
    );
    // Assess
    expect(JSON.parse(viaFlag.stdout)).toMatchObject({
      kmsKeyId: endpoints.kmsKeyArn,
      wrappedKey: expect.any(String),
    });
    expect(JSON.parse(viaStack.stdout)).toMatchObject({ kmsKeyId: endpoints.kmsKeyArn });
    expect(viaStack.stderr).toContain("Using the local stack's endpoints");
    expect((await stat(join(work, 'b.enc'))).size).toBeGreaterThan((await stat(src)).size);
  });

  it('records a foreign message on the notification topic once and settles it', async () => {
    // Prepare
    const sqs = new SQSClient({
      region: endpoints.region,
      credentials: endpoints.credentials,
      endpoint: endpoints.endpoints.sqs,
    });
    const { QueueUrl } = await sqs.send(
      new GetQueueUrlCommand({ QueueName: 'secure-transcode-notifications-local' }),
    );
    // Act
    await execFileAsync(
      '/usr/bin/aws',
      [
        '--endpoint-url',
        endpoints.endpoints.sns,
        'sns',
        'publish',
        '--topic-arn',
        endpoints.topicArn,
        '--message',
        'hello, not ours',
      ],
      { env: awsEnv },
    );
    const foreign = await until('the foreign message', () => {
      const found = readNotifications(endpoints.notificationsFile).filter((n) =>
        n.unparsable?.includes('hello, not ours'),
      );
      return found.length > 0 ? found : undefined;
    });
    const depth = await until('the notification queue to drain', async () =>
      (await queueDepth(sqs, QueueUrl ?? '')) === 0 ? 0 : undefined,
    );
    sqs.destroy();
    // Assess
    expect(foreign).toHaveLength(1);
    expect(foreign[0]?.reason).toBe('not JSON');
    expect(depth).toBe(0);
  });

  it('notifies a hand-started execution with unparsable input once, without retrying the validation error', async () => {
    // Act
    await execFileAsync(
      '/usr/bin/aws',
      [
        '--endpoint-url',
        endpoints.endpoints.sfn,
        'stepfunctions',
        'start-execution',
        '--state-machine-arn',
        endpoints.stateMachineArn,
        '--name',
        'by-hand',
        '--input',
        '{"hello":"world"}',
      ],
      { env: awsEnv },
    );
    const notification = await until('the failure notification', () =>
      readNotifications(endpoints.notificationsFile).find((n) => n.execution?.name === 'by-hand'),
    );
    const machine = endpoints.stateMachineArn.split(':').pop() ?? '';
    const history = new ExecutionStore(dataDir, machine).history('by-hand');
    const status = captureIo();
    await main(['status', '--data-dir', dataDir], status.io);
    // Assess
    expect(notification).toMatchObject({
      status: 'FAILED',
      source: { bucket: null, key: null },
      error: { code: 'InvalidTaskInputError', step: 'ValidateSource' },
    });
    expect(history.filter((e) => e.type === 'StateRetried')).toEqual([]);
    expect(status.out()).toMatch(/^STATUS +STEP +AGE +DURATION +SOURCE +ASSET +ERROR +EXECUTION$/m);
    expect(status.out()).toMatch(/InvalidTaskInputError at ValidateSource +by-hand/);
    expect(status.out()).not.toContain('TranscodeWorkflowFailed');
    expect(status.out()).toContain(holidayAsset());
  });

  it('refuses the console without its token or with a foreign Host header', async () => {
    // Prepare
    const url = new URL(endpoints.console);
    const token = url.searchParams.get('token') ?? '';
    const api = `${url.origin}/console/api/executions`;
    // Act
    const without = await fetch(api);
    const withToken = await fetch(api, { headers: { 'x-console-token': token } });
    const rebinding = await execFileAsync('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-H',
      'Host: attacker.example',
      '-H',
      `x-console-token: ${token}`,
      api,
    ]);
    // Assess
    expect(without.status).toBe(403);
    expect(withToken.status).toBe(200);
    expect(['403', '421']).toContain(rebinding.stdout);
    expect((await stat(join(dataDir, 'console-token'))).mode & 0o777).toBe(0o600);
  });

  it('lists the finished jobs on the executions page', async () => {
    // Act
    await page.goto(`${endpoints.console}#/executions`);
    await page.waitForSelector('#executions tr[data-status="SUCCEEDED"]');
    const rows = await page.$$eval('#executions tbody tr', (trs) =>
      trs.map((tr) => ({ status: tr.getAttribute('data-status'), text: tr.textContent ?? '' })),
    );
    await page.screenshot({ path: join(ARTIFACTS, 'console-executions.png') });
    // Assess
    const done = rows.filter((r) => r.status === 'SUCCEEDED');
    expect(done.map((r) => r.text)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('incoming/holiday.mp4'),
        expect.stringContaining('incoming/short clip.mp4'),
      ]),
    );
    expect(done[0]?.text).toContain('mediaconvert');
    expect(rows.find((r) => r.text.includes('by-hand'))?.text).toContain('InvalidTaskInputError');
  });

  it('draws every state of the ASL with the path taken, and the history without keys', async () => {
    // Prepare
    const execution = succeeded().find((n) => n.source.key === 'incoming/holiday.mp4')?.execution.name ?? '';
    // Act
    await page.goto(`${endpoints.console}#/executions/${execution}`);
    await page.waitForSelector('#graph g.node');
    const states = await page.$$eval('#graph g.node', (gs) =>
      gs.map((g) => ({ name: g.getAttribute('data-state'), visited: g.classList.contains('visited') })),
    );
    const taken = await page.$$eval('#graph g.edge.taken', (es) => es.length);
    const catches = await page.$$eval('#graph g.edge.catch', (es) => es.length);
    const history = await page.$eval('#events', (el) => el.textContent ?? '');
    await page.$$eval('#events details', (ds) => {
      for (const d of ds.slice(0, 12)) d.setAttribute('open', '');
    });
    const opened = await page.$eval('#events', (el) => el.textContent ?? '');
    await page.screenshot({ path: join(ARTIFACTS, 'console-execution-graph.png'), fullPage: true });
    // Tall enough for the whole graph card, so the sticky header does not cover its top in the picture.
    await page.setViewportSize({ width: 1400, height: 1600 });
    await page.locator('.card.graph').screenshot({ path: join(ARTIFACTS, 'console-graph.png') });
    await page.setViewportSize({ width: 1400, height: 900 });
    const notification = succeeded().find((n) => n.execution.name === execution);
    // Assess
    expect(states.map((s) => s.name).sort()).toEqual(Object.keys(ASL.States).sort());
    expect(states.filter((s) => s.visited).map((s) => s.name)).toEqual(
      expect.arrayContaining(['ValidateSource', 'EncryptSource', 'SubmitJob', 'PollJob', 'NotifySuccess']),
    );
    expect(taken).toBeGreaterThan(8);
    expect(catches).toBeGreaterThanOrEqual(8);
    expect(history).toContain('TaskStateEntered');
    expect(opened).toContain('‹withheld›');
    expect(opened).not.toContain(notification?.encrypted?.wrappedKey ?? 'no wrapped key');
  });

  it('shows SNS and EventBridge notifications as they arrived, valid or not', async () => {
    // Act
    await page.goto(`${endpoints.console}#/notifications`);
    await page.waitForSelector('#notifications tr[data-valid="false"]');
    const rows = await page.$$eval('#notifications tbody tr', (trs) =>
      trs.map((tr) => ({ valid: tr.getAttribute('data-valid'), text: tr.textContent ?? '' })),
    );
    await page.screenshot({ path: join(ARTIFACTS, 'console-notifications.png') });
    // Assess
    expect(
      rows.filter((r) => r.valid === 'true' && r.text.includes('EventBridge')).length,
    ).toBeGreaterThanOrEqual(3);
    expect(rows.filter((r) => r.valid === 'true' && r.text.includes('SNS')).length).toBeGreaterThanOrEqual(3);
    expect(rows.find((r) => r.valid === 'false')?.text).toContain('not a secure-transcode notification');
  });

  it('plays an asset with a token it issued, showing renditions, expiry and uses left, and switches quality', async () => {
    // Act
    await page.goto(`${endpoints.console}#/assets/${holidayAsset()}`);
    await page.waitForFunction(
      () => {
        const p = (window as unknown as { __console: { player?: { currentTime?: number } } }).__console
          .player;
        return (p?.currentTime ?? 0) > 1.5;
      },
      undefined,
      { timeout: 40_000 },
    );
    const options = await page.$$eval('#quality option', (os) => os.map((o) => o.textContent ?? ''));
    await page.selectOption('#quality', '0');
    await page.waitForFunction(
      () => (window as unknown as { __console: { player: { level?: number } } }).__console.player.level === 0,
    );
    await page.waitForFunction(() => document.querySelector('#uses')?.textContent?.includes('0 of 1'));
    const renditions = await page.$eval('#renditions', (t) => t.textContent ?? '');
    const token = await page.$eval('#token', (t) => t.textContent ?? '');
    await page.screenshot({ path: join(ARTIFACTS, 'console-asset-player.png') });
    // Assess
    expect(options[0]).toBe('Auto');
    expect(options.length).toBeGreaterThanOrEqual(3);
    expect(renditions).toMatch(/640×360/);
    expect(renditions).toMatch(/avc1\.[0-9a-f]{6},mp4a\.40\.2/);
    expect(renditions).toMatch(/\d+ kb\/s|Mb\/s/);
    expect(token).toMatch(/Token expires.*in \d/);
    expect(token).toContain('Uses left0 of 1');
  });

  it('explains a reused token with the key service reason, asking the key service once, and offers a new token', async () => {
    // Prepare
    const keyStatuses: number[] = [];
    page.on('response', (r) => {
      if (new URL(r.url()).pathname.startsWith('/keys/')) keyStatuses.push(r.status());
    });
    // Act
    await page.click('#reuse');
    await page.waitForSelector('#refusal');
    await page.waitForTimeout(1500);
    const refusal = await page.$eval('#refusal', (el) => el.textContent ?? '');
    await page.screenshot({ path: join(ARTIFACTS, 'console-token-used.png') });
    await page.click('#new-token');
    await page.waitForFunction(() => {
      const p = (window as unknown as { __console: { player: { state: string; currentTime?: number } } })
        .__console.player;
      return p.state === 'playing' && document.querySelector('#refusal') === null;
    });
    // Assess
    expect(refusal).toContain('The key service refused the key: token_used');
    expect(refusal).toContain('already been used');
    expect(keyStatuses.filter((s) => s === 403)).toEqual([403]);
  });

  it('explains a forged token with the key service reason', async () => {
    // Act
    const issued = await page.evaluate(
      () =>
        (window as unknown as { __console: { player: { issued: { token: string } } } }).__console.player
          .issued.token,
    );
    await page.evaluate(
      ([real, forged]) => {
        const p = (
          window as unknown as { __console: { player: { issued: { token: string; playUrl: string } } } }
        ).__console.player;
        p.issued = { ...p.issued, playUrl: p.issued.playUrl.replace(real, forged), token: forged };
      },
      [issued, forgeToken(issued)] as const,
    );
    await page.click('#reuse');
    await page.waitForSelector('#refusal');
    const refusal = await page.$eval('#refusal', (el) => el.textContent ?? '');
    await page.screenshot({ path: join(ARTIFACTS, 'console-token-forged.png') });
    // Assess
    expect(refusal).toContain('token_invalid');
    expect(refusal).toContain('not genuine');
  });
});
