/**
 * The ObjectCreated events the gateway emits: one per successful write (S3's event names), with a sequencer that
 * orders them, and the current objects of a prefix described as their events described them.
 */
import type { ObjectStore } from './object-store.js';
import type { CreatedObject } from './s3-api.js';

export interface ObjectCreatedEvent extends CreatedObject {
  /** Hex, strictly increasing per gateway, fixed width so string order is numeric order. */
  sequencer: string;
  eventTime: string;
}

export class ObjectCreatedEvents {
  private readonly listeners: Array<(e: ObjectCreatedEvent) => void> = [];
  private sequence = BigInt(Date.now()) * 1_000_000n;

  on(listener: (e: ObjectCreatedEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Gives `o` the next sequencer and the current time, and tells every listener. */
  emit(o: CreatedObject): void {
    this.sequence += 1n;
    const event = {
      ...o,
      sequencer: this.sequence.toString(16).toUpperCase().padStart(20, '0'),
      eventTime: new Date().toISOString(),
    };
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A listener's failure is its own; the S3 request already succeeded.
      }
    }
  }
}

/** The current (not deleted) objects under a prefix, as their creation events described them. */
export function currentObjects(store: ObjectStore, bucket: string, prefix: string): CreatedObject[] {
  return store
    .sortedKeys(bucket)
    .filter((k) => k.startsWith(prefix))
    .flatMap((k) => {
      const v = store.find(bucket, k);
      if (!v || v.deleteMarker) return [];
      const versioned = store.bucket(bucket).versioning !== undefined;
      return [
        {
          bucket,
          key: k,
          size: v.size,
          etag: v.etag,
          eventName: v.partSizes ? 'ObjectCreated:CompleteMultipartUpload' : 'ObjectCreated:Put',
          ...(versioned ? { versionId: v.versionId } : {}),
        } satisfies CreatedObject,
      ];
    });
}
