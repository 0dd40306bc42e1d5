/**
 * fauxqs 1.9.2 has no ListParts or ListMultipartUploads, so the gateway remembers what it proxied: uploads it saw
 * created (or saw parts for) and, per part number, the latest ETag and size. A part uploaded again replaces the old
 * entry, as in S3; complete and abort forget the upload.
 */
import { doc, el, OWNER, unescapeXml } from './xml.js';

interface TrackedPart {
  partNumber: number;
  etag: string;
  size: number;
  lastModified: Date;
}

interface TrackedUpload {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: Date;
  parts: Map<number, TrackedPart>;
}

const clampInt = (v: string | null, def: number, max: number) => {
  const n = v === null ? Number.NaN : Number.parseInt(v, 10);
  return Number.isFinite(n) && n >= 0 ? Math.min(n, max) : def;
};

export class MultipartTracker {
  private readonly uploads = new Map<string, TrackedUpload>();

  created(bucket: string, key: string, uploadId: string): void {
    this.uploads.set(uploadId, { uploadId, bucket, key, initiated: new Date(), parts: new Map() });
  }

  partUploaded(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    etag: string,
    size: number,
  ): void {
    if (!this.uploads.has(uploadId)) this.created(bucket, key, uploadId);
    this.uploads.get(uploadId)?.parts.set(partNumber, { partNumber, etag, size, lastModified: new Date() });
  }

  forget(uploadId: string): void {
    this.uploads.delete(uploadId);
  }

  forgetBucket(bucket: string): void {
    for (const [id, u] of this.uploads) if (u.bucket === bucket) this.uploads.delete(id);
  }

  has(uploadId: string): boolean {
    return this.uploads.has(uploadId);
  }

  openUploads(bucket?: string): Array<{ bucket: string; key: string; uploadId: string }> {
    return [...this.uploads.values()]
      .filter((u) => bucket === undefined || u.bucket === bucket)
      .map(({ bucket: b, key, uploadId }) => ({ bucket: b, key, uploadId }));
  }

  /** ListPartsResult XML, or undefined when the upload is unknown (the caller answers NoSuchUpload). */
  listPartsXml(uploadId: string, query: URLSearchParams): string | undefined {
    const upload = this.uploads.get(uploadId);
    if (!upload) return undefined;
    const marker = clampInt(query.get('part-number-marker'), 0, 10_000);
    const maxParts = clampInt(query.get('max-parts'), 1000, 1000);
    const remaining = [...upload.parts.values()]
      .filter((p) => p.partNumber > marker)
      .sort((a, b) => a.partNumber - b.partNumber);
    const page = remaining.slice(0, maxParts);
    const truncated = remaining.length > page.length;
    const next = page.at(-1)?.partNumber ?? marker;
    const parts = page
      .map(
        (p) =>
          `<Part>${el('PartNumber', p.partNumber)}${el('LastModified', p.lastModified.toISOString())}${el('ETag', p.etag)}${el('Size', p.size)}</Part>`,
      )
      .join('');
    return doc(
      'ListPartsResult',
      `${el('Bucket', upload.bucket)}${el('Key', upload.key)}${el('UploadId', uploadId)}<Initiator>${OWNER}</Initiator><Owner>${OWNER}</Owner>${el('StorageClass', 'STANDARD')}${el('PartNumberMarker', marker)}${el('NextPartNumberMarker', next)}${el('MaxParts', maxParts)}${el('IsTruncated', truncated)}${parts}`,
    );
  }

  listUploadsXml(bucket: string, query: URLSearchParams): string {
    const prefix = query.get('prefix') ?? '';
    const keyMarker = query.get('key-marker') ?? '';
    const idMarker = query.get('upload-id-marker') ?? '';
    const max = clampInt(query.get('max-uploads'), 1000, 1000);
    const after = (u: TrackedUpload) =>
      !keyMarker || u.key > keyMarker || (u.key === keyMarker && idMarker !== '' && u.uploadId > idMarker);
    const all = [...this.uploads.values()]
      .filter((u) => u.bucket === bucket && u.key.startsWith(prefix) && after(u))
      .sort((a, b) => (a.key === b.key ? a.uploadId.localeCompare(b.uploadId) : a.key < b.key ? -1 : 1));
    const page = all.slice(0, max);
    const truncated = all.length > page.length;
    const last = page.at(-1);
    const uploads = page
      .map(
        (u) =>
          `<Upload>${el('Key', u.key)}${el('UploadId', u.uploadId)}<Initiator>${OWNER}</Initiator><Owner>${OWNER}</Owner>${el('StorageClass', 'STANDARD')}${el('Initiated', u.initiated.toISOString())}</Upload>`,
      )
      .join('');
    return doc(
      'ListMultipartUploadsResult',
      `${el('Bucket', bucket)}${el('KeyMarker', keyMarker)}${el('UploadIdMarker', idMarker)}${truncated && last ? el('NextKeyMarker', last.key) + el('NextUploadIdMarker', last.uploadId) : ''}${el('Prefix', prefix)}${el('MaxUploads', max)}${el('IsTruncated', truncated)}${uploads}`,
    );
  }
}

/**
 * Object tags. fauxqs 1.9.2 routes `PUT ?tagging` to PutObject — it would replace the object with the tagging XML —
 * so the gateway must answer tagging itself. A new object (put, copy, complete) starts with no tags unless the
 * request carries `x-amz-tagging`.
 */
export class TagStore {
  private readonly tags = new Map<string, Array<[string, string]>>();

  set(bucket: string, key: string, tags: Array<[string, string]>): void {
    if (tags.length) this.tags.set(`${bucket}/${key}`, tags);
    else this.tags.delete(`${bucket}/${key}`);
  }

  get(bucket: string, key: string): Array<[string, string]> {
    return this.tags.get(`${bucket}/${key}`) ?? [];
  }

  delete(bucket: string, key: string): void {
    this.tags.delete(`${bucket}/${key}`);
  }

  static fromHeader(header: string | undefined): Array<[string, string]> {
    return header ? [...new URLSearchParams(header).entries()] : [];
  }

  static fromXml(xml: string): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const m of xml.matchAll(/<Tag>\s*<Key>([\s\S]*?)<\/Key>\s*<Value>([\s\S]*?)<\/Value>\s*<\/Tag>/g)) {
      out.push([unescapeXml(m[1] ?? ''), unescapeXml(m[2] ?? '')]);
    }
    return out;
  }

  static toXml(tags: Array<[string, string]>): string {
    return doc(
      'Tagging',
      `<TagSet>${tags.map(([k, v]) => `<Tag>${el('Key', k)}${el('Value', v)}</Tag>`).join('')}</TagSet>`,
    );
  }
}
