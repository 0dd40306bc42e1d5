/**
 * What a player does with an AES-128 variant playlist, for tests that check the segment IVs: each segment's IV is
 * the one its EXT-X-KEY names, or, when that tag names none, its media sequence number as a 16-byte big-endian
 * integer (RFC 8216 section 5.2). Written apart from the transcoders' own code so that it checks them.
 */
import { createDecipheriv } from 'node:crypto';

export interface SegmentIv {
  /** Index of the rendition in the list given to `segmentIvs`. */
  rendition: number;
  uri: string;
  sequence: number;
  /** Hex of the IV the player uses. */
  iv: string;
  /** Hex of the IV the playlist names, when it names one. */
  listedIv?: string;
  /** Hex of the segment's first ciphertext block. */
  firstBlock: string;
  /** The segment decrypts under the key and `iv` to an MPEG transport stream. */
  decrypts: boolean;
  /**
   * Hex of the first decrypted block with its continuity counter masked. ffmpeg starts every segment with the same
   * table packet, so a wrong IV (which in CBC garbles only this block) shows as a head unlike the others'.
   */
  head: string;
}

export const sequenceIvHex = (sequence: number) => sequence.toString(16).padStart(32, '0');

/** A variant playlist's segments in order, each with the IV a player decrypts it with (hex). */
export function playlistSegments(
  playlist: string,
): { uri: string; sequence: number; iv: string; listedIv?: string }[] {
  let sequence = Number(/^#EXT-X-MEDIA-SEQUENCE:(\d+)/m.exec(playlist)?.[1] ?? 0);
  let listedIv: string | undefined;
  const segments: { uri: string; sequence: number; iv: string; listedIv?: string }[] = [];
  for (const raw of playlist.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#EXT-X-KEY:')) listedIv = /IV=0x([0-9a-f]{32})/i.exec(line)?.[1]?.toLowerCase();
    if (line === '' || line.startsWith('#')) continue;
    segments.push({
      uri: line,
      sequence,
      iv: listedIv ?? sequenceIvHex(sequence),
      ...(listedIv ? { listedIv } : {}),
    });
    sequence += 1;
  }
  return segments;
}

function decrypt(key: Buffer, iv: string, bytes: Buffer): { decrypts: boolean; head: string } {
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-128-cbc', key, Buffer.from(iv, 'hex'));
    plain = Buffer.concat([decipher.update(bytes), decipher.final()]);
  } catch {
    return { decrypts: false, head: '' };
  }
  const head = Buffer.from(plain.subarray(0, 16));
  if (head.length > 3) head[3] = (head[3] as number) & 0xf0;
  let decrypts = plain.length > 0 && plain.length % 188 === 0;
  for (let i = 0; decrypts && i < plain.length; i += 188) decrypts = plain[i] === 0x47;
  return { decrypts, head: head.toString('hex') };
}

/** Every segment of every rendition, with its IV and whether it decrypts under `key` and that IV. */
export async function segmentIvs(
  renditions: { playlist: string; read(uri: string): Promise<Buffer> }[],
  key: Buffer,
): Promise<SegmentIv[]> {
  const rows: SegmentIv[] = [];
  for (const [rendition, { playlist, read }] of renditions.entries()) {
    for (const segment of playlistSegments(playlist)) {
      const bytes = await read(segment.uri);
      rows.push({
        rendition,
        ...segment,
        firstBlock: bytes.subarray(0, 16).toString('hex'),
        ...decrypt(key, segment.iv, bytes),
      });
    }
  }
  return rows;
}
