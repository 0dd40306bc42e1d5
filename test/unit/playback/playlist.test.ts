import { describe, expect, it } from '@jest/globals';
import { type AssetRecord, assetObjectKey, playlistObjectKey } from '../../../lib/playback/asset-record.js';
import { PlaylistRewriteError, rewritePlaylist } from '../../../lib/playback/playlist.js';

// Shaped like Elastic Transcoder HLSv3 output with HlsContentProtection (LicenseAcquisitionUrl as the key URI).
const MASTER = `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:PROGRAM-ID=1,BANDWIDTH=1011000,RESOLUTION=640x360,CODECS="avc1.4d001f,mp4a.40.2"
hls_1000k.m3u8
#EXT-X-STREAM-INF:PROGRAM-ID=1,BANDWIDTH=2000000
hi/hls_2000k.m3u8
`;

const VARIANT = `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-TARGETDURATION:3
#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example.com/keys/a1",IV=0x00000000000000000000000000000001
#EXTINF:3.000,
hls_1000k00000.ts
#EXTINF:3.000,
hls_1000k00001.ts
#EXT-X-ENDLIST
`;

const options = {
  keyUrl: 'https://ks.example.com/keys/a1?token=T.S',
  playlistUrl: (p: string) => `https://ks.example.com/play/a1/${p}?token=T.S`,
  signMedia: async (k: string) => `https://bucket.s3.example.com/out/${k}?X-Amz-Signature=sig`,
};

describe('rewritePlaylist', () => {
  it('points variant playlists back at the play route, keeping their paths', async () => {
    // Act
    const out = await rewritePlaylist(MASTER, { ...options, playlist: 'index.m3u8' });

    // Assess
    expect(out.split('\n')).toEqual([
      '#EXTM3U',
      '#EXT-X-VERSION:3',
      '#EXT-X-INDEPENDENT-SEGMENTS',
      '#EXT-X-STREAM-INF:PROGRAM-ID=1,BANDWIDTH=1011000,RESOLUTION=640x360,CODECS="avc1.4d001f,mp4a.40.2"',
      'https://ks.example.com/play/a1/hls_1000k.m3u8?token=T.S',
      '#EXT-X-STREAM-INF:PROGRAM-ID=1,BANDWIDTH=2000000',
      'https://ks.example.com/play/a1/hi/hls_2000k.m3u8?token=T.S',
      '',
    ]);
  });

  it('points EXT-X-KEY at the key URL with the token, keeps the IV, and signs every segment', async () => {
    // Act
    const out = await rewritePlaylist(VARIANT, { ...options, playlist: 'sub/hls_1000k.m3u8' });

    // Assess
    const lines = out.split('\n');
    expect(lines[4]).toBe(
      '#EXT-X-KEY:METHOD=AES-128,URI="https://ks.example.com/keys/a1?token=T.S",IV=0x00000000000000000000000000000001',
    );
    expect(lines[6]).toBe('https://bucket.s3.example.com/out/sub/hls_1000k00000.ts?X-Amz-Signature=sig');
    expect(lines[8]).toBe('https://bucket.s3.example.com/out/sub/hls_1000k00001.ts?X-Amz-Signature=sig');
    expect(out).not.toContain('keys.example.com');
  });

  it('signs EXT-X-MAP init sections and routes EXT-X-MEDIA renditions through the play route', async () => {
    const text =
      '#EXTM3U\n#EXT-X-MAP:URI="init.mp4"\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",URI="audio/en.m3u8"\n';

    const out = await rewritePlaylist(text, { ...options, playlist: 'index.m3u8' });

    expect(out).toContain('#EXT-X-MAP:URI="https://bucket.s3.example.com/out/init.mp4?X-Amz-Signature=sig"');
    expect(out).toContain('URI="https://ks.example.com/play/a1/audio/en.m3u8?token=T.S"');
  });

  it('refuses a playlist that references objects outside the asset', async () => {
    const text = '#EXTM3U\n#EXTINF:3.0,\n../../other-asset/seg0.ts\n';

    await expect(rewritePlaylist(text, { ...options, playlist: 'index.m3u8' })).rejects.toThrow(
      PlaylistRewriteError,
    );
  });

  it('refuses a body that is not a playlist', async () => {
    await expect(rewritePlaylist('<html>', { ...options, playlist: 'index.m3u8' })).rejects.toThrow(
      PlaylistRewriteError,
    );
  });

  it('rewrites MediaConvert output, whose variants are <master><NameModifier>.m3u8 and key URI comes from SPEKE', async () => {
    // Prepare: shaped like MediaConvert HLS output with a SPEKE key provider.
    const master =
      '#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:BANDWIDTH=2090000,RESOLUTION=1024x576\nindex_hls-2000k.m3u8\n';
    const variant =
      '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n' +
      '#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example.com/keys/a1",IV=0x00000000000000000000000000000001\n' +
      '#EXTINF:6,\nindex_hls-2000k_00001.ts\n#EXT-X-ENDLIST\n';
    const record = {
      outputKeyPrefix: 'outputs/a1/abc/',
      masterPlaylist: 'index.m3u8',
      playlists: ['index_hls-2000k.m3u8'],
    } as AssetRecord;
    // Act
    const m = await rewritePlaylist(master, { ...options, playlist: 'index.m3u8' });
    const v = await rewritePlaylist(variant, { ...options, playlist: 'index_hls-2000k.m3u8' });
    // Assess: the play route the master points at serves the variant the record lists.
    expect(m).toContain('https://ks.example.com/play/a1/index_hls-2000k.m3u8?token=T.S');
    expect(playlistObjectKey(record, 'index_hls-2000k.m3u8')).toBe('outputs/a1/abc/index_hls-2000k.m3u8');
    expect(playlistObjectKey(record, 'hls-2000k.m3u8')).toBeUndefined();
    expect(v).toContain('#EXT-X-KEY:METHOD=AES-128,URI="https://ks.example.com/keys/a1?token=T.S",IV=0x');
    expect(v).toContain('https://bucket.s3.example.com/out/index_hls-2000k_00001.ts?X-Amz-Signature=sig');
  });
});

describe('rewritePlaylist and the object-key rule', () => {
  it.each([
    ['a .. that stays inside the asset once normalised', 'sub/../hls_1000k00000.ts'],
    ['a . segment', './hls_1000k00000.ts'],
    ['an empty segment', 'sub//hls_1000k00000.ts'],
    ['a percent-encoded ..', '%2E%2E/other-asset/seg0.ts'],
    ['a root-relative path', '/outputs/other-asset/seg0.ts'],
  ])('refuses a segment URI with %s, signing nothing', async (_what, uri) => {
    // Prepare
    const signed: string[] = [];
    const text = `#EXTM3U\n#EXTINF:3.0,\n${uri}\n`;

    // Act
    const p = rewritePlaylist(text, {
      ...options,
      playlist: 'sub/hls_1000k.m3u8',
      signMedia: async (k) => {
        signed.push(k);
        return k;
      },
    });

    // Assess
    await expect(p).rejects.toThrow(PlaylistRewriteError);
    expect(signed).toEqual([]);
  });

  it('resolves a URI by concatenation with the playlist folder', async () => {
    // Act
    const out = await rewritePlaylist('#EXTM3U\n#EXTINF:3.0,\nseg.ts\n', {
      ...options,
      playlist: 'a/b/v.m3u8',
      signMedia: async (k) => `signed:${k}`,
    });

    // Assess
    expect(out).toContain('signed:a/b/seg.ts');
  });
});

describe('assetObjectKey', () => {
  const record = (outputKeyPrefix: string) =>
    ({
      assetId: 'a1',
      outputKeyPrefix,
      masterPlaylist: 'index.m3u8',
      playlists: [],
    }) as unknown as AssetRecord;

  it('joins a safe key under the asset root by concatenation', () => {
    // Assess
    expect(assetObjectKey(record('outputs/a1/clip/'), 'outputs/', 'hls/seg.ts')).toBe(
      'outputs/a1/clip/hls/seg.ts',
    );
  });

  it.each([
    ['a prefix of another asset', 'outputs/a2/clip/', 'seg.ts'],
    ['a prefix that climbs into another asset', 'outputs/a1/../a2/clip/', 'seg.ts'],
    ['a relative key with ..', 'outputs/a1/clip/', '../../a2/clip/seg.ts'],
    ['a relative key with .', 'outputs/a1/clip/', './seg.ts'],
    ['an empty relative key', 'outputs/a1/clip/', ''],
  ])('names nothing for %s', (_what, prefix, relative) => {
    // Assess
    expect(assetObjectKey(record(prefix), 'outputs/', relative)).toBeUndefined();
  });
});
