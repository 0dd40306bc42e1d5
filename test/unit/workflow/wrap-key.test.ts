/**
 * WrapKey, on keys GenerateKeys made, against the key ring of test/support/key-ring.ts: a KMS fake that checks key
 * and context as KMS does.
 */
import { ReEncryptCommand } from '@aws-sdk/client-kms';
import { describe, expect, it } from '@jest/globals';
import type { Context } from 'aws-lambda';
import { workflowConfig } from '../../../lib/config/workflow.js';
import { ELASTIC_TRANSCODER_CONTEXT, MEDIACONVERT_CONTEXT } from '../../../lib/kms/contexts.js';
import { keyMd5 } from '../../../lib/kms/keys.js';
import { generateKeys } from '../../../lib/workflow/generate-keys.js';
import { wrapKeyForTranscoder, wrapPlaybackKeyForTranscoder } from '../../../lib/workflow/wrap-key.js';
import { FAKE_KEY_ARN } from '../../support/fake-aws.js';
import { ASSET_ID, KEY_IDS, KEY_PROFILE, TRANSCODER_KEY_ARN, useKeyRing } from '../../support/key-ring.js';
import { mediaConvertEnv } from '../../support/mediaconvert.js';
import {
  ET,
  KEY_ARN,
  KEY_SERVICE,
  PLAYBACK_KEY_ARN,
  sampleEncrypted,
  sampleKeys,
} from '../../support/state.js';

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

describe('WrapKey for MediaConvert', () => {
  it('re-encrypts the source key under the MediaConvert encryption context', async () => {
    // Prepare
    const keys = sampleKeys();
    const blob = Buffer.from('kms-blob:re-encrypted');
    kmsMock.on(ReEncryptCommand).resolves({ CiphertextBlob: blob, KeyId: KEY_ARN });
    const c = workflowConfig(mediaConvertEnv());
    // Act
    const wrapped = await wrapKeyForTranscoder(
      keys,
      { kmsKeyId: c.transcoderKmsKeyId, encryptionContext: c.transcoderEncryptionContext },
      kms,
    );
    // Assess
    expect(kmsMock).toHaveReceivedCommandWith(ReEncryptCommand, {
      SourceEncryptionContext: ELASTIC_TRANSCODER_CONTEXT,
      DestinationEncryptionContext: MEDIACONVERT_CONTEXT,
      DestinationKeyId: KEY_ARN,
    });
    expect(wrapped).toMatchObject({
      encryptionContext: MEDIACONVERT_CONTEXT,
      wrappedKey: blob.toString('base64'),
      keyMd5: keyMd5(blob),
      reEncrypted: true,
    });
  });

  it('is what the WrapKey handler does when TRANSCODER_BACKEND=mediaconvert', async () => {
    // Prepare
    Object.assign(process.env, { ...mediaConvertEnv(), AWS_REGION: 'us-east-1', LOG_LEVEL: 'SILENT' });
    kmsMock
      .on(ReEncryptCommand)
      .resolves({ CiphertextBlob: Buffer.from('kms-blob:re-encrypted'), KeyId: KEY_ARN });
    const { handler } = await import('../../../functions/wrap-key/handler.js');
    const state = { keys: sampleKeys(), encrypted: sampleEncrypted() };
    // Act
    const out = (await handler(state, {} as Context)) as {
      transcoderKey: { encryptionContext: Record<string, string> };
      transcoderPlaybackKey: { encryptionContext: Record<string, string> };
    };
    // Assess
    expect(out.transcoderKey.encryptionContext).toEqual(MEDIACONVERT_CONTEXT);
    expect(out.transcoderPlaybackKey.encryptionContext).toEqual(MEDIACONVERT_CONTEXT);
    expect(kmsMock).toHaveReceivedCommandWith(ReEncryptCommand, {
      CiphertextBlob: Buffer.from(state.keys.playback.wrappedKey, 'base64'),
      DestinationEncryptionContext: MEDIACONVERT_CONTEXT,
    });
    expect(kmsMock).toHaveReceivedCommandWith(ReEncryptCommand, {
      DestinationEncryptionContext: MEDIACONVERT_CONTEXT,
    });
  });
});
