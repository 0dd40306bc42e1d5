import { describe, expect, it } from '@jest/globals';
import { ElasticTranscoderAdapter } from '../../../lib/transcoder/elastic-transcoder.js';
import { defaultProfile as profile } from '../../support/mediaconvert.js';

describe('ElasticTranscoderAdapter file naming', () => {
  it('keeps Elastic Transcoder naming for that backend', () => {
    // Act
    const names = new ElasticTranscoderAdapter('1111111111111-abcdef').playlistNames(profile);
    // Assess
    expect(names).toEqual({
      master: 'index.m3u8',
      variants: ['hls-2000k.m3u8', 'hls-1000k.m3u8', 'hls-400k.m3u8'],
    });
  });
});
