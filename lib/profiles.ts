/**
 * Transcoding profiles, chosen per input sub-prefix (Alibaba-style prefix workflows): `incoming/<profile>/movie.mp4`
 * uses `<profile>` when it exists, anything else uses the default. `PROFILES_JSON` may add or override profiles.
 */
import { z } from 'zod';
import { EncryptionModeSchema } from './contracts.js';
import { ConfigurationError } from './errors.js';

export const ProfileSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/),
  description: z.string().default(''),
  encryptionMode: EncryptionModeSchema.default('aes-cbc-pkcs7'),
  keyBits: z.union([z.literal(128), z.literal(192), z.literal(256)]).default(128),
  playlistFormat: z.enum(['HLSv3', 'HLSv4']).default('HLSv3'),
  segmentDurationSeconds: z.number().int().min(1).max(60).default(6),
  masterPlaylistName: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .default('index'),
  outputs: z
    .array(
      z.object({
        key: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
        presetId: z.string().regex(/^\d{13}-\w{6}$/),
      }),
    )
    .min(1)
    .max(30),
});
export type Profile = z.infer<typeof ProfileSchema>;

/** Elastic Transcoder's system HLS presets: 2M, 1M and 400k video+audio variants. */
const HLS_LADDER = [
  { key: 'hls-2000k', presetId: '1351620000001-200010' },
  { key: 'hls-1000k', presetId: '1351620000001-200030' },
  { key: 'hls-400k', presetId: '1351620000001-200050' },
];

export const BUILT_IN_PROFILES: readonly Profile[] = [
  ProfileSchema.parse({
    name: 'default',
    description: 'HLS ladder 2M/1M/400k with a master playlist; source encrypted with AES-128-CBC-PKCS7',
    outputs: HLS_LADDER,
  }),
  ProfileSchema.parse({
    name: 'ctr',
    description: 'Same ladder; source encrypted with AES-256-CTR (parallel encryption)',
    encryptionMode: 'aes-ctr',
    keyBits: 256,
    outputs: HLS_LADDER,
  }),
  ProfileSchema.parse({
    name: 'mobile',
    description: 'Two low-bitrate renditions (600k/400k), 4 s segments',
    segmentDurationSeconds: 4,
    outputs: [
      { key: 'hls-600k', presetId: '1351620000001-200040' },
      { key: 'hls-400k', presetId: '1351620000001-200050' },
    ],
  }),
];

export function loadProfiles(json: string | undefined): Map<string, Profile> {
  const profiles = new Map(BUILT_IN_PROFILES.map((p) => [p.name, p]));
  if (!json) return profiles;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new ConfigurationError('Environment variable PROFILES_JSON is invalid: not JSON', {
      code: 'CONFIGURATION',
    });
  }
  const parsed = z.array(ProfileSchema).safeParse(raw);
  if (!parsed.success) {
    throw new ConfigurationError(
      `Environment variable PROFILES_JSON is invalid: ${parsed.error.issues[0]?.message}`,
      {
        code: 'CONFIGURATION',
      },
    );
  }
  for (const p of parsed.data) profiles.set(p.name, p);
  return profiles;
}

/** The profile for a key relative to the input prefix: its first folder, if that names a profile. */
export function profileNameForKey(
  relativeKey: string,
  profiles: Map<string, Profile>,
  fallback: string,
): string {
  const slash = relativeKey.indexOf('/');
  if (slash > 0) {
    const candidate = relativeKey.slice(0, slash).toLowerCase();
    if (profiles.has(candidate)) return candidate;
  }
  return fallback;
}

export function getProfile(name: string, profiles: Map<string, Profile>): Profile {
  const p = profiles.get(name);
  if (!p) throw new ConfigurationError(`Unknown profile "${name}"`, { code: 'UNKNOWN_PROFILE' });
  return p;
}
