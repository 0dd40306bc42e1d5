/**
 * SPEKE v1 CPIX documents for HLS AES-128 (docs/speke.md, "The key provider"). The response is the request document filled in, as the
 * SPEKE v1 API specifies: every element and attribute the encryptor sent (KIDs, ContentKeyPeriodList,
 * ContentKeyUsageRuleList, ...) comes back unchanged, with the key added to each ContentKey and the clear-key
 * DRMSystem's URIExtXKey, KeyFormat and KeyFormatVersions filled in base64.
 *
 * The parser never expands entities: a DOCTYPE or ENTITY declaration is refused before parsing, and entity
 * references stay as written (no billion-laughs, no external entities). Only documents up to MAX_CPIX_BYTES are read,
 * and only documents within MAX_CPIX_DEPTH and MAX_CPIX_ELEMENTS are parsed: the parser, the builder and the walks
 * below recurse once per level, so a small document nested a few thousand deep would overflow the stack (a 500)
 * instead of being refused.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { ASSET_ID_PATTERN } from '../playback/tokens.js';
import { SpekeRequestError } from './errors.js';

/** The SPEKE "clear key" system id for HLS AES-128 (not an official DASH-IF id; SPEKE v1 only). */
export const CLEAR_KEY_AES_128_SYSTEM_ID = '81376844-f976-481e-a84e-cc25d39b0b33';

/** A MediaConvert HLS AES-128 request is about 1 KB; anything this large is not one. */
export const MAX_CPIX_BYTES = 64 * 1024;
/** Key rotation is off for VOD: one key per job. A few are accepted; a flood is refused. */
export const MAX_CONTENT_KEYS = 16;
/** A filled CPIX document nests six deep (CPIX/ContentKeyList/ContentKey/Data/Secret/PlainValue); a request less. */
export const MAX_CPIX_DEPTH = 32;
/** MediaConvert's request has about fifteen elements; even MAX_CONTENT_KEYS keys with their systems need far fewer. */
export const MAX_CPIX_ELEMENTS = 1024;

const NS = {
  cpix: 'urn:dashif:org:cpix',
  pskc: 'urn:ietf:params:xml:ns:keyprov:pskc',
  speke: 'urn:aws:amazon:com:speke',
} as const;
type Namespace = keyof typeof NS;

const KID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** HLS key attributes for AES-128: no KEYFORMAT (the default, identity), as AWS's reference SPEKE server answers. */
const KEY_FORMAT = '';
const KEY_FORMAT_VERSIONS = '1';

const XML_OPTIONS = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
} as const;

type Attributes = Record<string, string>;
/** fast-xml-parser's ordered form: `{ [tag]: children, ':@': attributes }` or `{ '#text': text }`. */
type XmlNode = { [tag: string]: XmlNode[] | Attributes | string } & { ':@'?: Attributes };

export interface CpixRequest {
  /** `CPIX@id`: MediaConvert's `SpekeKeyProvider.ResourceId`, which the workflow sets to the asset id. */
  contentId: string;
  kids: string[];
  systems: Array<{ kid: string; systemId: string }>;
  /** The parsed document, filled in by `fillCpixResponse`. */
  document: XmlNode[];
}

const tagOf = (node: XmlNode): string | undefined =>
  Object.keys(node).find((k) => k !== ':@' && k !== '#text');
const childrenOf = (node: XmlNode): XmlNode[] => {
  const tag = tagOf(node);
  const children = tag ? node[tag] : undefined;
  return Array.isArray(children) ? children : [];
};
const attributesOf = (node: XmlNode): Attributes => node[':@'] ?? {};

/** Prefix → namespace, from the root's declarations (where CPIX documents declare them). */
function namespacesOf(root: XmlNode): Map<string, string> {
  const map = new Map<string, string>();
  for (const [name, value] of Object.entries(attributesOf(root))) {
    if (name === 'xmlns') map.set('', value);
    else if (name.startsWith('xmlns:')) map.set(name.slice(6), value);
  }
  return map;
}

function is(node: XmlNode, namespaces: Map<string, string>, ns: Namespace, local: string): boolean {
  const tag = tagOf(node);
  if (!tag) return false;
  const colon = tag.indexOf(':');
  const prefix = colon < 0 ? '' : tag.slice(0, colon);
  return tag.slice(colon + 1) === local && namespaces.get(prefix) === NS[ns];
}

function find(parent: XmlNode, namespaces: Map<string, string>, ns: Namespace, local: string): XmlNode[] {
  return childrenOf(parent).filter((c) => is(c, namespaces, ns, local));
}

/**
 * The deepest nesting and the element count of `xml`, by one pass over its tags without recursion; stops counting
 * once either limit is passed. Well-formedness is the validator's business: this only has to bound what it sees.
 */
export function xmlShape(
  xml: string,
  limits: { depth: number; elements: number },
): { depth: number; elements: number } {
  let depth = 0;
  let deepest = 0;
  let elements = 0;
  let i = xml.indexOf('<');
  while (i >= 0 && i < xml.length && deepest <= limits.depth && elements <= limits.elements) {
    const next = xml[i + 1];
    let end: number;
    if (xml.startsWith('<!--', i)) end = lastIndexOfMatch(xml, '-->', i + 4);
    else if (xml.startsWith('<![CDATA[', i)) end = lastIndexOfMatch(xml, ']]>', i + 9);
    else if (next === '?' || next === '!') end = xml.indexOf('>', i + 2);
    else {
      end = tagEnd(xml, i + 1);
      if (next === '/') depth -= 1;
      else {
        elements += 1;
        if (xml[end - 1] !== '/') {
          depth += 1;
          deepest = Math.max(deepest, depth);
        }
      }
    }
    if (end < 0) break;
    i = xml.indexOf('<', end + 1);
  }
  return { depth: deepest, elements };
}

/** The index of the last character of the first `needle` at or after `from`; -1 if there is none. */
function lastIndexOfMatch(xml: string, needle: string, from: number): number {
  const k = xml.indexOf(needle, from);
  return k < 0 ? -1 : k + needle.length - 1;
}

/** The index of the `>` closing a tag that starts before `from`, skipping quoted attribute values; -1 if none. */
function tagEnd(xml: string, from: number): number {
  let quote: string | undefined;
  for (let j = from; j < xml.length; j += 1) {
    const c = xml[j];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '>') return j;
  }
  return -1;
}

export function parseCpixRequest(body: string): CpixRequest {
  if (Buffer.byteLength(body, 'utf8') > MAX_CPIX_BYTES) {
    throw new SpekeRequestError('too_large', `CPIX documents are limited to ${MAX_CPIX_BYTES} bytes`);
  }
  if (/<!(DOCTYPE|ENTITY)/i.test(body)) {
    throw new SpekeRequestError('entities_forbidden', 'DOCTYPE and ENTITY declarations are not accepted');
  }
  const shape = xmlShape(body, { depth: MAX_CPIX_DEPTH, elements: MAX_CPIX_ELEMENTS });
  if (shape.depth > MAX_CPIX_DEPTH || shape.elements > MAX_CPIX_ELEMENTS) {
    throw new SpekeRequestError(
      'too_complex',
      `CPIX documents are limited to ${MAX_CPIX_DEPTH} levels of nesting and ${MAX_CPIX_ELEMENTS} elements`,
    );
  }
  const valid = XMLValidator.validate(body);
  if (valid !== true) {
    throw new SpekeRequestError(
      'malformed_xml',
      `Not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`,
    );
  }
  const document = new XMLParser(XML_OPTIONS).parse(body) as XmlNode[];
  const roots = document.filter((n) => tagOf(n) !== undefined);
  const root = roots[0];
  const namespaces = root ? namespacesOf(root) : new Map<string, string>();
  if (roots.length !== 1 || !root || !is(root, namespaces, 'cpix', 'CPIX')) {
    throw new SpekeRequestError(
      'not_cpix',
      'The document element must be CPIX in namespace urn:dashif:org:cpix',
    );
  }
  const rootAttributes = attributesOf(root);
  if (rootAttributes.contentId !== undefined || rootAttributes.version?.startsWith('2')) {
    throw new SpekeRequestError(
      'unsupported_version',
      'This key provider speaks SPEKE v1 only (see docs/speke.md)',
    );
  }
  const contentId = rootAttributes.id ?? '';
  if (!ASSET_ID_PATTERN.test(contentId)) {
    throw new SpekeRequestError(
      'bad_content_id',
      "CPIX@id must be the asset id (the job's SPEKE ResourceId)",
    );
  }
  if (find(root, namespaces, 'cpix', 'DeliveryDataList').length > 0) {
    throw new SpekeRequestError(
      'encrypted_response_unsupported',
      'Encrypted responses (a SpekeKeyProvider CertificateArn) are not supported: the API is IAM-authenticated ' +
        'over TLS; remove the certificate from the job settings',
    );
  }

  const contentKeys = find(root, namespaces, 'cpix', 'ContentKeyList').flatMap((l) =>
    find(l, namespaces, 'cpix', 'ContentKey'),
  );
  if (contentKeys.length === 0)
    throw new SpekeRequestError('no_content_keys', 'ContentKeyList has no ContentKey');
  if (contentKeys.length > MAX_CONTENT_KEYS) {
    throw new SpekeRequestError('too_many_keys', `At most ${MAX_CONTENT_KEYS} content keys per request`);
  }
  const kids = contentKeys.map((k) => attributesOf(k).kid ?? '');
  const badKid = kids.find((k) => !KID.test(k));
  if (badKid !== undefined) throw new SpekeRequestError('bad_kid', 'Every ContentKey@kid must be a UUID');

  const systems = find(root, namespaces, 'cpix', 'DRMSystemList')
    .flatMap((l) => find(l, namespaces, 'cpix', 'DRMSystem'))
    .map((s) => ({
      kid: attributesOf(s).kid ?? '',
      systemId: (attributesOf(s).systemId ?? '').toLowerCase(),
    }));
  if (systems.length === 0) {
    throw new SpekeRequestError(
      'unsupported_system_id',
      `No DRMSystem in the request; this provider serves only system id ${CLEAR_KEY_AES_128_SYSTEM_ID} (HLS AES-128)`,
    );
  }
  const foreign = systems.find((s) => s.systemId !== CLEAR_KEY_AES_128_SYSTEM_ID);
  if (foreign) {
    throw new SpekeRequestError(
      'unsupported_system_id',
      `Unsupported system id ${foreign.systemId.slice(0, 64)}; this provider serves only ${CLEAR_KEY_AES_128_SYSTEM_ID} (HLS AES-128)`,
    );
  }
  const lowerKids = new Set(kids.map((k) => k.toLowerCase()));
  if (systems.some((s) => !lowerKids.has(s.kid.toLowerCase()))) {
    throw new SpekeRequestError('unknown_kid', 'Every DRMSystem@kid must name a ContentKey of the request');
  }
  return { contentId, kids, systems, document };
}

/** `prefix:local` for a namespace, declaring it on the root when the request did not. */
function qualified(root: XmlNode, ns: Namespace, local: string): string {
  const namespaces = namespacesOf(root);
  for (const [prefix, uri] of namespaces) if (uri === NS[ns]) return prefix ? `${prefix}:${local}` : local;
  root[':@'] = { ...attributesOf(root), [`xmlns:${ns}`]: NS[ns] };
  return `${ns}:${local}`;
}

const element = (tag: string, children: XmlNode[]): XmlNode => ({ [tag]: children }) as XmlNode;
const text = (value: string): XmlNode => ({ '#text': value }) as XmlNode;
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/**
 * The response document: the request with the 16-byte key in every ContentKey and the key URI in every clear-key
 * DRMSystem. Returns the serialized XML; the caller zeroes `key` afterwards (the base64 copy lives only in the
 * returned string).
 */
export function fillCpixResponse(request: CpixRequest, fill: { key: Buffer; keyUri: string }): string {
  const document = structuredClone(request.document);
  const root = document.find((n) => tagOf(n) !== undefined) as XmlNode;
  const tags = {
    data: qualified(root, 'cpix', 'Data'),
    secret: qualified(root, 'pskc', 'Secret'),
    plainValue: qualified(root, 'pskc', 'PlainValue'),
    uriExtXKey: qualified(root, 'cpix', 'URIExtXKey'),
    keyFormat: qualified(root, 'speke', 'KeyFormat'),
    keyFormatVersions: qualified(root, 'speke', 'KeyFormatVersions'),
  };
  const namespaces = namespacesOf(root);
  const keyValue = fill.key.toString('base64');

  for (const list of find(root, namespaces, 'cpix', 'ContentKeyList')) {
    for (const contentKey of find(list, namespaces, 'cpix', 'ContentKey')) {
      const tag = tagOf(contentKey) as string;
      const kept = childrenOf(contentKey).filter((c) => !is(c, namespaces, 'cpix', 'Data'));
      contentKey[tag] = [
        ...kept,
        element(tags.data, [element(tags.secret, [element(tags.plainValue, [text(keyValue)])])]),
      ];
    }
  }

  const hlsFields: ReadonlyArray<[Namespace, string, string, string]> = [
    ['cpix', 'URIExtXKey', tags.uriExtXKey, b64(fill.keyUri)],
    ['speke', 'KeyFormat', tags.keyFormat, b64(KEY_FORMAT)],
    ['speke', 'KeyFormatVersions', tags.keyFormatVersions, b64(KEY_FORMAT_VERSIONS)],
  ];
  // DASH and PlayReady signalling has no meaning for HLS AES-128 (the reference server drops it too).
  const dropped: ReadonlyArray<[Namespace, string]> = [
    ['cpix', 'ContentProtectionData'],
    ['speke', 'ProtectionHeader'],
    ['cpix', 'PSSH'],
  ];
  for (const list of find(root, namespaces, 'cpix', 'DRMSystemList')) {
    for (const system of find(list, namespaces, 'cpix', 'DRMSystem')) {
      const tag = tagOf(system) as string;
      const kept = childrenOf(system).filter(
        (c) =>
          !dropped.some(([ns, local]) => is(c, namespaces, ns, local)) &&
          !hlsFields.some(([ns, local]) => is(c, namespaces, ns, local)),
      );
      const filled = hlsFields.map(([, , qualifiedTag, value]) =>
        element(qualifiedTag, value ? [text(value)] : []),
      );
      system[tag] = [...kept, ...filled];
    }
  }
  const xml = new XMLBuilder({ ...XML_OPTIONS, format: false, suppressEmptyNode: true }).build(
    document,
  ) as string;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`;
}
