export {
  AES_BLOCK,
  assertKeyAndIv,
  CbcPartCipher,
  CtrPartCipher,
  cipherName,
  ciphertextSize,
  createPartCipher,
  ctrCounterAt,
  IdentityPartCipher,
  type PartCipher,
  type PartInput,
  type PartOutput,
} from './aes.js';
