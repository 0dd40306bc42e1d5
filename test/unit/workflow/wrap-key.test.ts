/**
 * WrapKey, on keys GenerateKeys made, against the key ring of test/support/key-ring.ts: a KMS fake that checks key
 * and context as KMS does.
 */
import { ReEncryptCommand } from '@aws-sdk/client-kms';
import { describe, expect, it } from '@jest/globals';
import { keyMd5 } from '../../../lib/kms/keys.js';
import { generateKeys } from '../../../lib/workflow/generate-keys.js';
import { wrapKeyForTranscoder, wrapPlaybackKeyForTranscoder } from '../../../lib/workflow/wrap-key.js';
import { FAKE_KEY_ARN } from '../../support/fake-aws.js';
import { ASSET_ID, KEY_IDS, KEY_PROFILE, TRANSCODER_KEY_ARN, useKeyRing } from '../../support/key-ring.js';
import { ET, KEY_SERVICE, PLAYBACK_KEY_ARN } from '../../support/state.js';

const ring = useKeyRing();
const { kmsMock, kms } = ring;

describe('WrapKey for the playback key', () => {
  it('re-wraps the playback key out of the playback key into the workflow key for Elastic Transcoder', async () => {
    // Prepare
    const { keys } = await generateKeys(KEY_PROFILE, KEY_IDS, ASSET_ID, kms);
    kmsMock.resetHistory();
    // Act
    const wrapped = await wrapPlaybackKeyForTranscoder(
      keys,
      { kmsKeyId: 'alias/secure-transcode', encryptionContext: ET },
      kms,
    );
    // Assess
    expect(wrapped).toMatchObject({ kmsKeyId: FAKE_KEY_ARN, encryptionContext: ET, reEncrypted: true });
    expect(wrapped.keyMd5).toBe(keyMd5(wrapped.wrappedKey));
    expect(ring.fakeKms.decrypt(wrapped.wrappedKey, ET, FAKE_KEY_ARN)).toEqual(
      ring.fakeKms.decrypt(keys.playback.wrappedKey, KEY_SERVICE),
    );
    expect(kmsMock).toHaveReceivedCommandWith(ReEncryptCommand, {
      SourceKeyId: PLAYBACK_KEY_ARN,
      DestinationKeyId: 'alias/secure-transcode',
      DestinationEncryptionContext: ET,
    });
  });

  it('re-wraps both keys for a separate transcoder KMS key', async () => {
    // Prepare
    const { keys } = await generateKeys(KEY_PROFILE, KEY_IDS, ASSET_ID, kms);
    const target = { kmsKeyId: 'alias/transcoder', encryptionContext: ET };
    // Act
    const source = await wrapKeyForTranscoder(keys, target, kms);
    const playback = await wrapPlaybackKeyForTranscoder(keys, target, kms);
    // Assess
    expect(playback).toMatchObject({
      kmsKeyId: TRANSCODER_KEY_ARN,
      encryptionContext: ET,
      reEncrypted: true,
    });
    // What Elastic Transcoder does with HlsContentProtection.Key: Decrypt with its own key.
    expect(ring.fakeKms.decrypt(playback.wrappedKey, ET, TRANSCODER_KEY_ARN)).toEqual(
      ring.fakeKms.decrypt(keys.playback.wrappedKey, KEY_SERVICE),
    );
    expect(playback.wrappedKey).not.toBe(source.wrappedKey);
    expect(ring.fakeKms.decrypt(source.wrappedKey, ET, TRANSCODER_KEY_ARN)).toEqual(
      ring.fakeKms.decrypt(keys.source.wrappedKey, ET),
    );
  });
});
