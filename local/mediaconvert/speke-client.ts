/**
 * MediaConvert's side of SPEKE v1: a CPIX request for one HLS AES-128 key, POSTed to the job's SPEKE URL and signed
 * with SigV4 for `execute-api` (MediaConvert signs with the job role; locally, with the stack's credentials). The
 * KID is derived from the resource id, so every call for one content id asks for the same key, as MediaConvert's
 * stable KIDs do.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { XMLParser } from 'fast-xml-parser';
import { CLEAR_KEY_AES_128_SYSTEM_ID } from '../../lib/speke/cpix.js';
import { JOB_ERRORS, JobError } from './errors.js';

export interface SpekeKey {
  key: Buffer;
  /** The decoded URIExtXKey: the EXT-X-KEY URI to write. */
  uri: string;
}

export interface SpekeClientOptions {
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Attempts for a transient failure (network error or 5xx). */
  attempts?: number;
}

type Data = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: Data) =>
  typeof d === 'string'
    ? Buffer.from(d)
    : ArrayBuffer.isView(d)
      ? Buffer.from(d.buffer, d.byteOffset, d.byteLength)
      : Buffer.from(d);

class Sha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: Data) {
    this.hash = this.create();
  }
  private create() {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.secret));
  }
  update(data: Uint8Array) {
    this.hash.update(data);
  }
  async digest() {
    return new Uint8Array(this.hash.digest());
  }
  reset() {
    this.hash = this.create();
  }
}

/** A UUID derived from the content id: stable across calls and retries. */
export function kidFor(resourceId: string): string {
  const h = createHash('sha256').update(`kid\0${resourceId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function cpixRequest(resourceId: string): string {
  const kid = kidFor(resourceId);
  const period = `keyPeriod_${kidFor(`${resourceId}\0period`)}`;
  const id = resourceId.replace(/[<>&"]/g, '');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<cpix:CPIX id="${id}" xmlns:cpix="urn:dashif:org:cpix" xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc" xmlns:speke="urn:aws:amazon:com:speke">`,
    `<cpix:ContentKeyList><cpix:ContentKey kid="${kid}"></cpix:ContentKey></cpix:ContentKeyList>`,
    `<cpix:DRMSystemList><cpix:DRMSystem kid="${kid}" systemId="${CLEAR_KEY_AES_128_SYSTEM_ID}">`,
    '<cpix:ContentProtectionData /><speke:KeyFormat /><speke:KeyFormatVersions /><speke:ProtectionHeader /><cpix:PSSH /><cpix:URIExtXKey />',
    '</cpix:DRMSystem></cpix:DRMSystemList>',
    `<cpix:ContentKeyPeriodList><cpix:ContentKeyPeriod id="${period}" index="0"/></cpix:ContentKeyPeriodList>`,
    `<cpix:ContentKeyUsageRuleList><cpix:ContentKeyUsageRule kid="${kid}"><cpix:KeyPeriodFilter periodId="${period}"/></cpix:ContentKeyUsageRule></cpix:ContentKeyUsageRuleList>`,
    '</cpix:CPIX>',
  ].join('\n');
}

interface ParsedCpix {
  CPIX?: {
    ContentKeyList?: { ContentKey?: { Data?: { Secret?: { PlainValue?: string } } } };
    DRMSystemList?: { DRMSystem?: { URIExtXKey?: string } };
  };
}

/** Reads the key and the key URI from a SPEKE v1 response; JobError 1092 when either is missing or malformed. */
export function readCpixResponse(xml: string): SpekeKey {
  const parsed = new XMLParser({
    removeNSPrefix: true,
    ignoreAttributes: true,
    processEntities: false,
    parseTagValue: false,
  }).parse(xml) as ParsedCpix;
  const value = parsed.CPIX?.ContentKeyList?.ContentKey?.Data?.Secret?.PlainValue;
  const uri = parsed.CPIX?.DRMSystemList?.DRMSystem?.URIExtXKey;
  const key = Buffer.from(value ?? '', 'base64');
  if (key.length !== 16 || !uri) {
    key.fill(0);
    throw new JobError(JOB_ERRORS.spekeFailed, 'The SPEKE response has no 16-byte key or no URIExtXKey');
  }
  return { key, uri: Buffer.from(uri, 'base64').toString('utf8') };
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

export class SpekeClient {
  private readonly signer: SignatureV4;

  constructor(private readonly options: SpekeClientOptions) {
    this.signer = new SignatureV4({
      credentials: options.credentials,
      region: options.region,
      service: 'execute-api',
      sha256: Sha256,
    });
  }

  async keyFor(url: string, resourceId: string, signal?: AbortSignal): Promise<SpekeKey> {
    const body = cpixRequest(resourceId);
    // Backed off, as MediaConvert retries its key provider: after a restart a resumed job can ask before the SPEKE
    // endpoint is listening again.
    const attempts = this.options.attempts ?? 5;
    let last = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const target = new URL(url);
      const signed = await this.signer.sign({
        method: 'POST',
        protocol: target.protocol,
        hostname: target.hostname,
        ...(target.port ? { port: Number(target.port) } : {}),
        path: target.pathname,
        headers: { host: target.host, 'content-type': 'application/xml' },
        body,
      });
      const res = await fetch(url, {
        method: 'POST',
        headers: signed.headers,
        body,
        ...(signal ? { signal } : {}),
      }).catch((e: unknown) => {
        last = e instanceof Error ? e.message : String(e);
        return undefined;
      });
      if (res?.status === 200) return readCpixResponse(await res.text());
      if (res && (res.status === 401 || res.status === 403)) {
        await res.body?.cancel();
        throw new JobError(
          JOB_ERRORS.spekeForbidden,
          `The SPEKE API refused the job role's signature (HTTP ${res.status})`,
        );
      }
      if (res && res.status < 500) {
        const text = (await res.text()).slice(0, 300);
        throw new JobError(
          JOB_ERRORS.spekeFailed,
          `The SPEKE server refused the request (HTTP ${res.status}): ${text}`,
        );
      }
      if (res) last = `HTTP ${res.status}`;
      await res?.body?.cancel();
      if (signal?.aborted) break;
      if (attempt < attempts) await pause(Math.min(2000, 250 * 2 ** (attempt - 1)), signal);
    }
    throw new JobError(JOB_ERRORS.spekeFailed, `The SPEKE server did not answer: ${last}`);
  }
}
