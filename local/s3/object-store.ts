/**
 * The local S3's object store: bytes as files under `<dataDir>/s3/`, every version's metadata as a small JSON file
 * beside them, both written durably before a request is acknowledged. The index (keys → versions) is rebuilt from
 * the JSON files at start — that reads metadata only, so start time does not grow with object sizes.
 *
 * Layout: `buckets/<bucket>/bucket.json`; `buckets/<bucket>/objects/<hh>/<sha256(key)>/v<seq>.json|.bin` (S3 keys
 * such as `a` and `a/b` cannot both be paths, so keys are hashed); `uploads/<uploadId>/upload.json`,
 * `part-<n>.json|.<seq>.bin`; `tmp/` for writes in flight (swept at start).
 *
 * Each version has a store-wide increasing `seq`. Replacing the `null` version commits the new one before removing
 * the old, so a crash in between leaves two `null` versions on disk; loading keeps the newer and removes the other.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { copyFile, mkdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, type Transform } from 'node:stream';
import { commitFile, fsyncPath, streamToTemp, tempName, writeJsonDurable } from './durable.js';

export interface BucketRecord {
  name: string;
  created: string;
  versioning?: 'Enabled' | 'Suspended';
}

export interface ObjectBody {
  /** Temp file holding the bytes (synced), from `receive()`. */
  temp: string;
  size: number;
  /** Quoted, as in HTTP headers. */
  etag: string;
}

export interface VersionRecord {
  key: string;
  versionId: string;
  seq: number;
  lastModified: string;
  deleteMarker?: boolean;
  size: number;
  etag: string;
  contentType?: string;
  /** Content-Encoding, -Disposition, -Language, Cache-Control, Expires: stored and returned as given. */
  headers?: Record<string, string>;
  metadata?: Record<string, string>;
  tags?: Array<[string, string]>;
  checksum?: { algorithm: string; value: string; type?: 'FULL_OBJECT' | 'COMPOSITE' };
  /** Sizes of the parts of a multipart object (GET ?partNumber). */
  partSizes?: number[];
  /** The multipart upload this object completed (its leftover directory is removed on load). */
  uploadId?: string;
  /** Data file name beside the record. */
  file?: string;
}

export interface PartRecord {
  partNumber: number;
  etag: string;
  size: number;
  lastModified: string;
  file: string;
  checksum?: { algorithm: string; value: string };
}

export interface UploadRecord {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: string;
  contentType?: string;
  headers?: Record<string, string>;
  metadata?: Record<string, string>;
  tags?: Array<[string, string]>;
  checksumAlgorithm?: string;
  /** FULL_OBJECT: the checksum of the whole object, computed at completion; COMPOSITE: of the parts' checksums. */
  checksumType?: 'FULL_OBJECT' | 'COMPOSITE';
}

interface BucketState extends BucketRecord {
  /** key → versions, newest first. */
  keys: Map<string, VersionRecord[]>;
}

interface UploadState extends UploadRecord {
  parts: Map<number, PartRecord>;
}

export class S3StoreError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
  override readonly name = 'S3StoreError';
}

const hashKey = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');

const readJson = <T>(path: string): T | undefined => {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    // A record cut short by a crash was never acknowledged (records are renamed into place whole).
    return undefined;
  }
};

export class ObjectStore {
  private readonly buckets = new Map<string, BucketState>();
  private readonly uploads = new Map<string, UploadState>();
  private seq = Date.now() * 1000;
  readonly tmpDir: string;

  constructor(readonly root: string) {
    this.tmpDir = join(root, 'tmp');
  }

  /** Rebuilds the index from disk and sweeps what a crash left half-written. */
  load(): void {
    rmSync(this.tmpDir, { recursive: true, force: true });
    mkdirSync(this.tmpDir, { recursive: true, mode: 0o700 });
    const bucketsDir = join(this.root, 'buckets');
    mkdirSync(bucketsDir, { recursive: true, mode: 0o700 });
    const completedUploads = new Set<string>();
    for (const name of readdirSync(bucketsDir)) {
      const record = readJson<BucketRecord>(join(bucketsDir, name, 'bucket.json'));
      if (!record) continue;
      const state: BucketState = { ...record, keys: new Map() };
      this.buckets.set(record.name, state);
      const objectsDir = join(bucketsDir, name, 'objects');
      if (!existsSync(objectsDir)) continue;
      for (const shard of readdirSync(objectsDir)) {
        for (const h of readdirSync(join(objectsDir, shard))) {
          const dir = join(objectsDir, shard, h);
          const versions = this.loadVersions(dir);
          for (const v of versions) if (v.uploadId) completedUploads.add(v.uploadId);
          const first = versions[0];
          if (first) state.keys.set(first.key, versions);
          else rmSync(dir, { recursive: true, force: true });
        }
      }
    }
    const uploadsDir = join(this.root, 'uploads');
    mkdirSync(uploadsDir, { recursive: true, mode: 0o700 });
    for (const id of readdirSync(uploadsDir)) {
      const dir = join(uploadsDir, id);
      const record = readJson<UploadRecord>(join(dir, 'upload.json'));
      if (!record || completedUploads.has(id) || !this.buckets.has(record.bucket)) {
        rmSync(dir, { recursive: true, force: true });
        continue;
      }
      const parts = new Map<number, PartRecord>();
      const files = readdirSync(dir);
      for (const f of files.filter((n) => /^part-\d+\.json$/.test(n))) {
        const part = readJson<PartRecord>(join(dir, f));
        if (part && files.includes(part.file)) parts.set(part.partNumber, part);
      }
      const referenced = new Set([...parts.values()].map((p) => p.file));
      for (const f of files)
        if (f.endsWith('.bin') && !referenced.has(f)) rmSync(join(dir, f), { force: true });
      this.uploads.set(id, { ...record, parts });
    }
  }

  private loadVersions(dir: string): VersionRecord[] {
    const files = readdirSync(dir);
    const records = files
      .filter((f) => f.endsWith('.json'))
      .map((f) => readJson<VersionRecord>(join(dir, f)))
      .filter((r): r is VersionRecord => r !== undefined)
      .sort((a, b) => b.seq - a.seq);
    const kept: VersionRecord[] = [];
    for (const r of records) {
      if (kept.some((k) => k.versionId === r.versionId)) {
        this.removeVersionFilesSync(dir, r);
        continue;
      }
      kept.push(r);
      this.seq = Math.max(this.seq, r.seq);
    }
    const referenced = new Set(kept.flatMap((r) => [`v${r.seq}.json`, ...(r.file ? [r.file] : [])]));
    for (const f of files) if (!referenced.has(f)) rmSync(join(dir, f), { force: true });
    return kept;
  }

  private removeVersionFilesSync(dir: string, r: VersionRecord): void {
    rmSync(join(dir, `v${r.seq}.json`), { force: true });
    if (r.file) rmSync(join(dir, r.file), { force: true });
  }

  private nextSeq(): number {
    this.seq = Math.max(this.seq + 1, Date.now() * 1000);
    return this.seq;
  }

  private newVersionId(seq: number): string {
    return `${seq.toString(16).padStart(14, '0')}${randomBytes(9).toString('base64url')}`;
  }

  // ---- buckets -------------------------------------------------------------------------------------------------

  private bucketDir(name: string): string {
    return join(this.root, 'buckets', name);
  }

  listBuckets(): BucketRecord[] {
    return [...this.buckets.values()]
      .map(({ name, created, versioning }) => ({ name, created, ...(versioning ? { versioning } : {}) }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  hasBucket(name: string): boolean {
    return this.buckets.has(name);
  }

  bucket(name: string): BucketState {
    const b = this.buckets.get(name);
    if (!b) throw new S3StoreError('NoSuchBucket', 'The specified bucket does not exist', 404);
    return b;
  }

  async createBucket(name: string): Promise<boolean> {
    if (this.buckets.has(name)) return false;
    const record: BucketRecord = { name, created: new Date().toISOString() };
    this.buckets.set(name, { ...record, keys: new Map() });
    await mkdir(this.bucketDir(name), { recursive: true, mode: 0o700 });
    await writeJsonDurable(this.tmpDir, join(this.bucketDir(name), 'bucket.json'), record);
    return true;
  }

  async deleteBucket(name: string): Promise<void> {
    const b = this.bucket(name);
    if (b.keys.size > 0)
      throw new S3StoreError('BucketNotEmpty', 'The bucket you tried to delete is not empty', 409);
    // Incomplete multipart uploads do not keep a bucket alive on S3; they go with it.
    for (const u of this.listUploads(name)) await this.removeUpload(u.uploadId);
    this.buckets.delete(name);
    await rm(this.bucketDir(name), { recursive: true, force: true });
  }

  async setVersioning(name: string, status: 'Enabled' | 'Suspended'): Promise<void> {
    const b = this.bucket(name);
    b.versioning = status;
    await writeJsonDurable(this.tmpDir, join(this.bucketDir(name), 'bucket.json'), {
      name: b.name,
      created: b.created,
      versioning: status,
    } satisfies BucketRecord);
  }

  // ---- objects ---------------------------------------------------------------------------------------------

  private objectDir(bucket: string, key: string): string {
    const h = hashKey(key);
    return join(this.bucketDir(bucket), 'objects', h.slice(0, 2), h);
  }

  dataPath(bucket: string, v: VersionRecord): string {
    return join(this.objectDir(bucket, v.key), v.file ?? '');
  }

  /** Streams a request body through `transforms` into a synced temp file. */
  receive(source: Readable | Readable[], transforms: Transform[]): Promise<string> {
    return streamToTemp(this.tmpDir, source, transforms);
  }

  async discard(temp: string): Promise<void> {
    await rm(temp, { force: true });
  }

  /** A synced temp copy of a stored version (CopyObject keeps the source readable while the copy commits). */
  async copyToTemp(bucket: string, v: VersionRecord): Promise<string> {
    const temp = tempName(this.tmpDir);
    await copyFile(this.dataPath(bucket, v), temp);
    await fsyncPath(temp);
    return temp;
  }

  versions(bucket: string, key: string): VersionRecord[] {
    return this.bucket(bucket).keys.get(key) ?? [];
  }

  /** The current version (may be a delete marker), or a specific one. */
  find(bucket: string, key: string, versionId?: string): VersionRecord | undefined {
    const versions = this.versions(bucket, key);
    return versionId === undefined ? versions[0] : versions.find((v) => v.versionId === versionId);
  }

  openRead(bucket: string, v: VersionRecord, start?: number, end?: number): Readable {
    if (v.size === 0 || !v.file) return Readable.from([]);
    return createReadStream(this.dataPath(bucket, v), {
      ...(start !== undefined ? { start } : {}),
      ...(end !== undefined ? { end } : {}),
      highWaterMark: 1024 * 1024,
    });
  }

  /**
   * Commits a new version (object or delete marker) as the bucket's versioning state says: a fresh version id when
   * enabled, the `null` version replaced otherwise. Returns the record once it is durable.
   */
  async commit(
    bucket: string,
    record: Omit<VersionRecord, 'versionId' | 'seq' | 'file'>,
    body?: ObjectBody,
  ): Promise<VersionRecord> {
    const b = this.bucket(bucket);
    const seq = this.nextSeq();
    const versionId = b.versioning === 'Enabled' ? this.newVersionId(seq) : 'null';
    const dir = this.objectDir(bucket, record.key);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = body && body.size > 0 ? `v${seq}.bin` : undefined;
    if (body) {
      if (file) await commitFile(body.temp, join(dir, file));
      else await this.discard(body.temp);
    }
    const v: VersionRecord = { ...record, versionId, seq, ...(file ? { file } : {}) };
    await writeJsonDurable(this.tmpDir, join(dir, `v${seq}.json`), v);
    const previous = b.keys.get(record.key) ?? [];
    const replaced = previous.filter((p) => p.versionId === versionId);
    b.keys.set(record.key, [v, ...previous.filter((p) => p.versionId !== versionId)]);
    for (const r of replaced) await this.removeVersionFiles(dir, r);
    return v;
  }

  async updateTags(bucket: string, v: VersionRecord, tags: Array<[string, string]>): Promise<void> {
    const updated: VersionRecord = { ...v, tags };
    if (!tags.length) delete updated.tags;
    await writeJsonDurable(this.tmpDir, join(this.objectDir(bucket, v.key), `v${v.seq}.json`), updated);
    const versions = this.versions(bucket, v.key);
    const i = versions.findIndex((x) => x.seq === v.seq);
    if (i >= 0) versions[i] = updated;
  }

  /** Removes one version permanently (DELETE ?versionId, or the null version of an unversioned bucket). */
  async removeVersion(bucket: string, key: string, versionId: string): Promise<VersionRecord | undefined> {
    const b = this.bucket(bucket);
    const versions = b.keys.get(key) ?? [];
    const v = versions.find((x) => x.versionId === versionId);
    if (!v) return undefined;
    const rest = versions.filter((x) => x !== v);
    if (rest.length) b.keys.set(key, rest);
    else b.keys.delete(key);
    const dir = this.objectDir(bucket, key);
    await this.removeVersionFiles(dir, v);
    if (!rest.length) await rm(dir, { recursive: true, force: true });
    return v;
  }

  private async removeVersionFiles(dir: string, v: VersionRecord): Promise<void> {
    // The record goes first: without it the data file is an orphan that the next load removes.
    await unlink(join(dir, `v${v.seq}.json`)).catch(() => undefined);
    if (v.file) await unlink(join(dir, v.file)).catch(() => undefined);
  }

  /** Every key's versions in key order (listings page through this). */
  sortedKeys(bucket: string): string[] {
    return [...this.bucket(bucket).keys.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  // ---- multipart ---------------------------------------------------------------------------------------------

  private uploadDir(uploadId: string): string {
    return join(this.root, 'uploads', uploadId);
  }

  async createUpload(record: Omit<UploadRecord, 'uploadId' | 'initiated'>): Promise<UploadRecord> {
    this.bucket(record.bucket);
    const uploadId = randomBytes(24).toString('base64url');
    const full: UploadRecord = { ...record, uploadId, initiated: new Date().toISOString() };
    await mkdir(this.uploadDir(uploadId), { recursive: true, mode: 0o700 });
    await writeJsonDurable(this.tmpDir, join(this.uploadDir(uploadId), 'upload.json'), full);
    this.uploads.set(uploadId, { ...full, parts: new Map() });
    return full;
  }

  upload(uploadId: string, bucket?: string, key?: string): UploadState {
    const u = this.uploads.get(uploadId);
    if (!u || (bucket !== undefined && u.bucket !== bucket) || (key !== undefined && u.key !== key))
      throw new S3StoreError(
        'NoSuchUpload',
        'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
        404,
      );
    return u;
  }

  listUploads(bucket: string): UploadState[] {
    return [...this.uploads.values()].filter((u) => u.bucket === bucket);
  }

  async putPart(
    uploadId: string,
    partNumber: number,
    body: ObjectBody,
    checksum?: { algorithm: string; value: string },
  ): Promise<PartRecord> {
    const u = this.upload(uploadId);
    const dir = this.uploadDir(uploadId);
    const file = `part-${partNumber}.${this.nextSeq()}.bin`;
    await commitFile(body.temp, join(dir, file));
    const part: PartRecord = {
      partNumber,
      etag: body.etag,
      size: body.size,
      lastModified: new Date().toISOString(),
      file,
      ...(checksum ? { checksum } : {}),
    };
    await writeJsonDurable(this.tmpDir, join(dir, `part-${partNumber}.json`), part);
    const old = u.parts.get(partNumber);
    u.parts.set(partNumber, part);
    if (old && old.file !== file) await unlink(join(dir, old.file)).catch(() => undefined);
    return part;
  }

  partStream(uploadId: string, part: PartRecord): Readable {
    return createReadStream(join(this.uploadDir(uploadId), part.file), { highWaterMark: 1024 * 1024 });
  }

  async removeUpload(uploadId: string): Promise<void> {
    this.uploads.delete(uploadId);
    await rm(this.uploadDir(uploadId), { recursive: true, force: true });
  }
}
