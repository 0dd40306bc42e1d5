/**
 * What a rendition's segments actually contain, read from the bytes ffmpeg wrote (the master playlist's CODECS and
 * RESOLUTION must describe the streams, not the preset's intentions). It reads the start of the first MPEG-TS
 * segment — decrypting it with the rendition's AES-128 key when it has one (CBC decrypts a prefix without the rest)
 * — and parses the PMT, the H.264 sequence parameter set and the first ADTS header. The npm ffmpeg build has no
 * working ffprobe, and ffmpeg's banner does not show the H.264 level, so this is done here.
 */
import { createDecipheriv } from 'node:crypto';
import { open } from 'node:fs/promises';

export interface ProbedStreams {
  video?: { width: number; height: number; codec: string };
  audio?: { codec: string };
}

const PACKET = 188;
const PREFIX_BYTES = 512 * 1024;

/** The first `PREFIX_BYTES` of a segment, decrypted when a key is given. */
export async function readSegmentPrefix(
  file: string,
  encryption?: { key: Buffer; iv: Buffer },
): Promise<Buffer> {
  const handle = await open(file, 'r');
  let data: Buffer;
  try {
    const buffer = Buffer.alloc(PREFIX_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, PREFIX_BYTES, 0);
    data = buffer.subarray(0, bytesRead - (encryption ? bytesRead % 16 : 0));
  } finally {
    await handle.close();
  }
  if (!encryption) return data;
  const decipher = createDecipheriv('aes-128-cbc', encryption.key, encryption.iv);
  decipher.setAutoPadding(false);
  return Buffer.concat([decipher.update(data), decipher.final()]);
}

/** Payloads of the packets of one PID, from the first that starts a unit. */
function pidPayload(ts: Buffer, pid: number, maxBytes = Number.POSITIVE_INFINITY): Buffer {
  const parts: Buffer[] = [];
  let size = 0;
  let started = false;
  for (let at = 0; at + PACKET <= ts.length && size < maxBytes; at += PACKET) {
    if (ts[at] !== 0x47) break;
    const b1 = ts[at + 1] ?? 0;
    if ((((b1 & 0x1f) << 8) | (ts[at + 2] ?? 0)) !== pid) continue;
    const unitStart = (b1 & 0x40) !== 0;
    if (!started && !unitStart) continue;
    started = true;
    const control = ((ts[at + 3] ?? 0) >> 4) & 3;
    if (!(control & 1)) continue;
    const offset = at + 4 + (control & 2 ? 1 + (ts[at + 4] ?? 0) : 0);
    const part = ts.subarray(offset, at + PACKET);
    parts.push(part);
    size += part.length;
  }
  return Buffer.concat(parts);
}

/** Section after the pointer field of a PSI payload. */
function section(payload: Buffer): Buffer {
  return payload.subarray(1 + (payload[0] ?? 0));
}

function elementaryStreams(ts: Buffer): Map<number, number> {
  const pat = section(pidPayload(ts, 0, PACKET));
  const pmtPid = (((pat[10] ?? 0) & 0x1f) << 8) | (pat[11] ?? 0);
  const pmt = section(pidPayload(ts, pmtPid, 4 * PACKET));
  const sectionEnd = 3 + ((((pmt[1] ?? 0) & 0x0f) << 8) | (pmt[2] ?? 0)) - 4;
  let at = 12 + ((((pmt[10] ?? 0) & 0x0f) << 8) | (pmt[11] ?? 0));
  const streams = new Map<number, number>();
  while (at + 5 <= sectionEnd && at + 5 <= pmt.length) {
    const type = pmt[at] ?? 0;
    const pid = (((pmt[at + 1] ?? 0) & 0x1f) << 8) | (pmt[at + 2] ?? 0);
    if (!streams.has(type)) streams.set(type, pid);
    at += 5 + ((((pmt[at + 3] ?? 0) & 0x0f) << 8) | (pmt[at + 4] ?? 0));
  }
  return streams;
}

/** The elementary stream bytes of the first PES packet(s): PES headers removed. */
function pesData(payload: Buffer): Buffer {
  if (payload[0] !== 0 || payload[1] !== 0 || payload[2] !== 1) return Buffer.alloc(0);
  return payload.subarray(9 + (payload[8] ?? 0));
}

class BitReader {
  private bit = 0;
  constructor(private readonly data: Buffer) {}
  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.data[this.bit >> 3];
      if (byte === undefined) throw new RangeError('SPS ends early');
      v = v * 2 + ((byte >> (7 - (this.bit & 7))) & 1);
      this.bit += 1;
    }
    return v;
  }
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) {
      zeros += 1;
      if (zeros > 31) throw new RangeError('bad Exp-Golomb code');
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -k / 2;
  }
}

/** NAL payload with emulation-prevention bytes (00 00 03) removed. */
function removeEmulationPrevention(nal: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < nal.length; i++) {
    if (i >= 2 && nal[i] === 3 && nal[i - 1] === 0 && nal[i - 2] === 0) continue;
    out.push(nal[i] ?? 0);
  }
  return Buffer.from(out);
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** RFC 6381 `avc1.PPCCLL` and the cropped picture size, from an SPS NAL unit (header byte included). */
export function parseSps(nal: Buffer): { codec: string; width: number; height: number } {
  const rbsp = removeEmulationPrevention(nal.subarray(1));
  const profile = rbsp[0] ?? 0;
  const codec = `avc1.${[rbsp[0], rbsp[1], rbsp[2]].map((b) => (b ?? 0).toString(16).padStart(2, '0')).join('')}`;
  const r = new BitReader(rbsp.subarray(3));
  r.ue(); // seq_parameter_set_id
  let chromaFormat = 1;
  let separatePlanes = 0;
  if (HIGH_PROFILES.has(profile)) {
    chromaFormat = r.ue();
    if (chromaFormat === 3) separatePlanes = r.u(1);
    r.ue();
    r.ue();
    r.u(1);
    const scalingMatrixPresent = r.u(1) === 1;
    const lists = scalingMatrixPresent ? (chromaFormat === 3 ? 12 : 8) : 0;
    for (let i = 0; i < lists; i++) {
      const listPresent = r.u(1) === 1;
      if (listPresent) skipScalingList(r, i < 6 ? 16 : 64);
    }
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.u(1);
    r.se();
    r.se();
    const cycle = r.ue();
    for (let i = 0; i < cycle; i++) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.u(1);
  const widthMbs = r.ue() + 1;
  const heightUnits = r.ue() + 1;
  const frameMbsOnly = r.u(1);
  if (!frameMbsOnly) r.u(1);
  r.u(1);
  let crop = [0, 0, 0, 0];
  if (r.u(1)) crop = [r.ue(), r.ue(), r.ue(), r.ue()];
  const arrayType = separatePlanes ? 0 : chromaFormat;
  const cropX = arrayType === 0 ? 1 : arrayType === 3 ? 1 : 2;
  const cropY = (arrayType === 0 ? 1 : arrayType === 1 ? 2 : 1) * (2 - frameMbsOnly);
  const [left, right, top, bottom] = crop as [number, number, number, number];
  return {
    codec,
    width: widthMbs * 16 - cropX * (left + right),
    height: heightUnits * 16 * (2 - frameMbsOnly) - cropY * (top + bottom),
  };
}

function findSps(es: Buffer): Buffer | undefined {
  for (let i = 0; i + 4 < es.length; i++) {
    if (es[i] !== 0 || es[i + 1] !== 0 || es[i + 2] !== 1 || ((es[i + 3] ?? 0) & 0x1f) !== 7) continue;
    let end = i + 4;
    while (end + 2 < es.length && !(es[end] === 0 && es[end + 1] === 0 && (es[end + 2] ?? 9) <= 1)) end += 1;
    return es.subarray(i + 3, end + 2 >= es.length ? es.length : end);
  }
  return undefined;
}

// ISO/IEC 13818-1 stream types that ffmpeg's mpegts muxer writes for H.264 and ADTS AAC.
const STREAM_TYPE_H264 = 0x1b;
const STREAM_TYPE_ADTS_AAC = 0x0f;

/** Streams of an MPEG-TS prefix; throws if the bytes are not a transport stream. */
export function probeTransportStream(ts: Buffer): ProbedStreams {
  if (ts[0] !== 0x47 || ts[PACKET] !== 0x47) throw new Error('not an MPEG transport stream');
  const streams = elementaryStreams(ts);
  const result: ProbedStreams = {};
  const videoPid = streams.get(STREAM_TYPE_H264);
  if (videoPid !== undefined) {
    const sps = findSps(pesData(pidPayload(ts, videoPid, 256 * 1024)));
    if (sps) result.video = parseSps(sps);
  }
  const audioPid = streams.get(STREAM_TYPE_ADTS_AAC);
  if (audioPid !== undefined) {
    const adts = pesData(pidPayload(ts, audioPid, 8 * PACKET));
    if (adts[0] === 0xff && ((adts[1] ?? 0) & 0xf0) === 0xf0) {
      // ADTS "profile" is the MPEG-4 audio object type minus one (AAC-LC = 2).
      result.audio = { codec: `mp4a.40.${(((adts[2] ?? 0) >> 6) & 3) + 1}` };
    }
  }
  return result;
}

/** CODECS attribute value: video first, as players expect. */
export function codecsAttribute(streams: ProbedStreams): string {
  return [streams.video?.codec, streams.audio?.codec].filter(Boolean).join(',');
}
