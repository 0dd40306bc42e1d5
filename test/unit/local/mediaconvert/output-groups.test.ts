import { describe, expect, it } from '@jest/globals';
import { outputGroupsFor, settingsFor } from '../../../../local/mediaconvert/output-groups.js';
import type { JobPlan } from '../../../../local/mediaconvert/wire.js';

function plan(base: string): JobPlan {
  return {
    input: { bucket: 'in', key: 'clip.enc', audioSelectors: ['Audio Selector 1'] },
    outputGroups: [
      {
        type: 'HLS_GROUP_SETTINGS',
        destination: { bucket: 'out', base },
        segmentLength: 6,
        outputs: [
          { nameModifier: '_hi', video: { width: 1280, height: 720, bitrate: 2_000_000 } },
          {
            nameModifier: '_audio',
            audio: { bitrate: 96_000, sampleRate: 48_000, selector: 'Audio Selector 1' },
          },
        ],
      },
    ],
  };
}

describe('settingsFor', () => {
  it("turns an output's bit/s and size into H.264 main 3.1 kb/s within that box", () => {
    // Act
    const settings = settingsFor({
      nameModifier: '_hi',
      video: { width: 1280, height: 720, bitrate: 2_000_000 },
    });

    // Assess
    expect(settings).toEqual({
      container: 'ts',
      video: {
        kbps: 2000,
        profile: 'main',
        level: '3.1',
        keyframesMaxDist: 90,
        fixedGop: false,
        maxWidth: 1280,
        maxHeight: 720,
      },
    });
  });

  it('turns an audio description into stereo AAC at its bitrate and sample rate', () => {
    // Act
    const settings = settingsFor({
      nameModifier: '_a',
      audio: { bitrate: 96_000, sampleRate: 48_000, selector: 'Audio Selector 1' },
    });

    // Assess
    expect(settings).toEqual({ container: 'ts', audio: { kbps: 96, sampleRate: 48_000, channels: 2 } });
  });
});

describe('outputGroupsFor', () => {
  it('maps the HLS output group onto one engine HLS group, named the way MediaConvert names files', () => {
    // Act
    const [group, ...rest] = outputGroupsFor(plan('assets/a1/clip'));

    // Assess
    expect(rest).toEqual([]);
    expect(group).toMatchObject({
      type: 'hls',
      destination: { bucket: 'out', folder: 'assets/a1' },
      master: 'clip',
      segmentSeconds: 6,
      segmentNames: { separator: '_', first: 1 },
    });
    expect(group?.outputs.map((o) => o.name)).toEqual(['clip_hi', 'clip_audio']);
    expect(group?.encryption).toBeUndefined();
  });

  it('puts a destination without a folder at the top of the bucket, and encrypts every output with the SPEKE key', () => {
    // Prepare
    const key = Buffer.alloc(16, 7);
    const iv = Buffer.alloc(16, 9);

    // Act
    const [group] = outputGroupsFor(plan('clip'), [{ key, uri: 'https://keys.example/a1' }], iv);

    // Assess
    expect(group?.destination.folder).toBe('');
    expect(group?.encryption).toEqual({ key, iv, uri: 'https://keys.example/a1' });
  });
});
