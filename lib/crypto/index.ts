export {
  AES_BLOCK,
  CbcPartCipher,
  CtrPartCipher,
  IdentityPartCipher,
  assertKeyAndIv,
  cipherName,
  ciphertextSize,
  createPartCipher,
  ctrCounterAt,
  type PartCipher,
  type PartInput,
  type PartOutput,
} from './aes.js';
