/**
 * The uploader's user metadata (`x-amz-meta-*`), passed through to the notification so a subscriber can correlate a
 * job with its own ids (AWS's "Video on Demand on AWS" does the same). Bounded, because it travels in the
 * state-machine payload (256 KB) and in SNS messages (256 KB): at most 10 entries, names up to 64 and values up to
 * 512 characters, 2 KiB in all. Entries over a bound are dropped, never truncated, so a subscriber never sees a
 * shortened id that looks valid. S3 itself caps user metadata at 2 KB, so only hand-made inputs hit these bounds.
 */
export const USER_METADATA_LIMITS = Object.freeze({
  maxEntries: 10,
  maxNameLength: 64,
  maxValueLength: 512,
  maxTotalBytes: 2048,
});

export function boundedUserMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  let total = 0;
  let count = 0;
  for (const [name, value] of Object.entries(metadata ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    if (count >= USER_METADATA_LIMITS.maxEntries) break;
    if (typeof value !== 'string') continue;
    if (
      name.length > USER_METADATA_LIMITS.maxNameLength ||
      value.length > USER_METADATA_LIMITS.maxValueLength
    )
      continue;
    const size = Buffer.byteLength(name) + Buffer.byteLength(value);
    if (total + size > USER_METADATA_LIMITS.maxTotalBytes) continue;
    out[name.toLowerCase()] = value;
    total += size;
    count += 1;
  }
  return out;
}
