/**
 * The S3 XML documents of the gateway: the ones it writes (listings, results; its `<Error>` is in
 * local/http/errors.ts) and the request bodies it reads (DeleteObjects, CompleteMultipartUpload, PutObjectTagging,
 * PutBucketVersioning), parsed by fast-xml-parser.
 */
import { XMLParser } from 'fast-xml-parser';
import { escapeXml, newS3RequestId } from '../http/errors.js';

export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/**
 * Decodes XML's five named entities and its numeric character references (`&#65;`, `&#x41;`) in one pass, so
 * `&amp;lt;` stays the text `&lt;`. Anything else after `&` is not well-formed XML: the caller answers MalformedXML.
 */
export function unescapeXml(s: string): string {
  return s.replace(/&([^;&]*);?/g, (whole, ref: string) => {
    const named = NAMED_ENTITIES[ref];
    const numeric = /^#x[0-9a-f]+$/i.test(ref)
      ? Number.parseInt(ref.slice(2), 16)
      : /^#[0-9]+$/.test(ref)
        ? Number.parseInt(ref.slice(1), 10)
        : undefined;
    if (whole.endsWith(';') && named !== undefined) return named;
    if (whole.endsWith(';') && numeric !== undefined && isXmlChar(numeric))
      return String.fromCodePoint(numeric);
    throw new MalformedXmlError(`not a well-formed reference: ${whole}`);
  });
}

/** XML 1.0's Char production: what a character reference may name. */
function isXmlChar(c: number): boolean {
  return (
    c === 0x9 ||
    c === 0xa ||
    c === 0xd ||
    (c >= 0x20 && c <= 0xd7ff) ||
    (c >= 0xe000 && c <= 0xfffd) ||
    (c >= 0x10000 && c <= 0x10ffff)
  );
}

export class MalformedXmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedXmlError';
  }
}

/** Elements that may repeat, by path: always arrays, even when a body holds one. */
const REPEATED = new Set(['Delete.Object', 'CompleteMultipartUpload.Part', 'Tagging.TagSet.Tag']);

// Values stay strings (a key "007" is not the number 7) and keep their spaces (a key may start or end with one).
// Entities are decoded by unescapeXml alone: the parser's own decoding skips numeric references unless it is also
// told to accept HTML's named entities, which S3 refuses.
const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: false,
  isArray: (_name, jPath) => REPEATED.has(String(jPath)),
  tagValueProcessor: (_name, value) => unescapeXml(value),
});

export type XmlNode = { [name: string]: XmlNode | XmlNode[] | string | undefined };

/** Parses a request body; throws MalformedXmlError when it is not well-formed XML. */
export function parseXmlBody(body: string): XmlNode {
  try {
    return parser.parse(body, true) as XmlNode;
  } catch (e) {
    if (e instanceof MalformedXmlError) throw e;
    throw new MalformedXmlError((e as Error).message);
  }
}

/** The child element `name` of `node` as an element, or undefined. */
export function xmlChild(node: unknown, name: string): XmlNode | undefined {
  const child = (node as XmlNode | undefined)?.[name];
  return child && typeof child === 'object' && !Array.isArray(child) ? child : undefined;
}

/** The repeated child elements `name` of `node` (declared in REPEATED). */
export function xmlChildren(node: unknown, name: string): XmlNode[] {
  const children = (node as XmlNode | undefined)?.[name];
  return Array.isArray(children) ? children : [];
}

/** The text of the child element `name` of `node` (`''` for an empty one), or undefined when it has none. */
export function xmlText(node: unknown, name: string): string | undefined {
  const child = (node as XmlNode | undefined)?.[name];
  if (typeof child === 'string') return child;
  return child !== undefined &&
    typeof child === 'object' &&
    !Array.isArray(child) &&
    Object.keys(child).length === 0
    ? ''
    : undefined;
}

export function el(name: string, value: string | number | boolean): string {
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

export function doc(root: string, inner: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${S3_NS}">${inner}</${root}>`;
}

export const newRequestId = newS3RequestId;

export const OWNER = '<ID>local</ID><DisplayName>local</DisplayName>';
