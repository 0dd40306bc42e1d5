/**
 * Decrypted playback keys, kept in memory so a burst of players does not become a burst of KMS Decrypt calls
 * (a KMS Decrypt per key request would be both slow and throttled). Bounded in entries and age; keyed by the caller
 * (PlaybackKeyProvider: SHA-256 of asset id + blob), so a rewrapped key never hits a stale entry and a record of one
 * asset can never be served another asset's cached key.
 */
export interface KeyCacheOptions {
  maxEntries: number;
  ttlMs: number;
  now?: () => number;
}

interface Entry {
  key: Buffer;
  expiresAt: number;
}

export class KeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(private readonly options: KeyCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** A copy, so a caller that scrubs its buffer cannot corrupt the cache. */
  get(blobHash: string): Buffer | undefined {
    this.sweep();
    const entry = this.entries.get(blobHash);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.drop(blobHash, entry);
      return undefined;
    }
    // Map iteration order is insertion order: re-inserting makes this the most recently used.
    this.entries.delete(blobHash);
    this.entries.set(blobHash, entry);
    return Buffer.from(entry.key);
  }

  set(blobHash: string, key: Buffer): void {
    this.sweep();
    const old = this.entries.get(blobHash);
    if (old) this.drop(blobHash, old);
    this.entries.set(blobHash, { key: Buffer.from(key), expiresAt: this.now() + this.options.ttlMs });
    while (this.entries.size > this.options.maxEntries) {
      const [oldestHash, oldest] = this.entries.entries().next().value as [string, Entry];
      this.drop(oldestHash, oldest);
    }
  }

  /**
   * Zeroes and drops every expired entry, so a plaintext key never outlives its TTL by more than the next request —
   * expiry checked only on lookup would keep keys of assets nobody asks for any more in memory for the container's
   * life. O(entries), bounded by maxEntries.
   */
  sweep(): void {
    const now = this.now();
    for (const [hash, entry] of this.entries) if (entry.expiresAt <= now) this.drop(hash, entry);
  }

  clear(): void {
    for (const [hash, entry] of this.entries) this.drop(hash, entry);
  }

  private drop(hash: string, entry: Entry): void {
    entry.key.fill(0);
    this.entries.delete(hash);
  }
}
