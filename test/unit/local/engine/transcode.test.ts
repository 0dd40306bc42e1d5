import { describe, expect, it } from '@jest/globals';
import { shrinkToFit } from '../../../../local/engine/transcode.js';
import { seeded } from '../../../support/openssl.js';

describe('shrinkToFit', () => {
  it('fits 854x480 into 640x432 as 640x360', () => {
    // Act
    const size = shrinkToFit(854, 480, 640, 432);

    // Assess
    expect(size).toEqual({ width: 640, height: 360 });
  });

  it('never scales up and evens odd source sizes', () => {
    // Act & Assess
    expect(shrinkToFit(320, 180, 1024, 768)).toEqual({ width: 320, height: 180 });
    expect(shrinkToFit(853, 479, 1024, 768)).toEqual({ width: 854, height: 480 });
  });

  it('fits a portrait source by its height', () => {
    // Act
    const size = shrinkToFit(1080, 1920, 640, 432);

    // Assess
    expect(size).toEqual({ width: 244, height: 432 });
  });

  it('keeps the aspect ratio within one pixel, even sizes inside the box, for random sources and boxes', () => {
    // Prepare
    const rand = seeded(15);
    for (let n = 0; n < 2000; n++) {
      const width = 16 + Math.floor(rand() * 4000);
      const height = 16 + Math.floor(rand() * 3000);
      const maxWidth = 64 + Math.floor(rand() * 1920);
      const maxHeight = 64 + Math.floor(rand() * 1080);

      // Act
      const size = shrinkToFit(width, height, maxWidth, maxHeight);

      // Assess
      expect(size.width % 2).toBe(0);
      expect(size.height % 2).toBe(0);
      if (width <= maxWidth && height <= maxHeight) continue;
      expect(size.width).toBeLessThanOrEqual(maxWidth);
      expect(size.height).toBeLessThanOrEqual(maxHeight);
      // The side that limits is (evenly) the box; the other follows the source's aspect ratio within a pixel.
      const heightFromWidth = (size.width * height) / width;
      const widthFromHeight = (size.height * width) / height;
      // (H.264 needs at least 2 pixels: a sliver narrower than that is rounded up to 2.)
      const withinPixel = (actual: number, ideal: number) =>
        Math.abs(actual - ideal) <= 1 || (ideal < 2 && actual === 2);
      expect(withinPixel(size.height, heightFromWidth) || withinPixel(size.width, widthFromHeight)).toBe(
        true,
      );
    }
  });
});
