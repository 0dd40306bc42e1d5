/**
 * Node reads every header value as latin1: one character per byte. Clients differ in what bytes they send for text
 * that is not ASCII: botocore sends UTF-8, Python's http.client of older clients latin1, and the JS SDK refuses it. A
 * value whose bytes are valid UTF-8 is taken as UTF-8 (that is how the client signed it and what it meant); any other
 * stays latin1.
 */
export function fromHeaderBytes(raw: string): string {
  const bytes = Buffer.from(raw, 'latin1');
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : raw;
}

/** The inverse for a response: text beyond latin1 goes out as its UTF-8 bytes. */
export function toHeaderBytes(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is the latin1 repertoire Node can write
  return /^[\u0000-\u00ff]*$/.test(value) ? value : Buffer.from(value, 'utf8').toString('latin1');
}
