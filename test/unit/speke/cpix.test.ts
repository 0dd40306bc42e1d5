import { describe, expect, it } from '@jest/globals';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { XMLParser } from 'fast-xml-parser';
import {
  CLEAR_KEY_AES_128_SYSTEM_ID,
  fillCpixResponse,
  MAX_CPIX_BYTES,
  MAX_CPIX_DEPTH,
  MAX_CPIX_ELEMENTS,
  parseCpixRequest,
  xmlShape,
} from '../../../lib/speke/cpix.js';
import { SpekeRequestError } from '../../../lib/speke/errors.js';
import { loadEvent } from '../../support/events.js';

const request = () => loadEvent<APIGatewayProxyEvent>('speke/cpix-request.json').body as string;
const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const KEY_URI = 'https://keys.example.com/keys/a0123456789abcdef012345';
const parse = (xml: string) =>
  new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', removeNSPrefix: true }).parse(xml) as {
    CPIX: Record<string, unknown>;
  };

describe('parseCpixRequest', () => {
  it('reads the content id, KIDs and system ids of a MediaConvert request', () => {
    // Act
    const req = parseCpixRequest(request());
    // Assess
    expect(req.contentId).toBe('a0123456789abcdef012345');
    expect(req.kids).toEqual(['6c5f5206-7d98-4808-84d8-94f132c1e9fe']);
    expect(req.systems).toEqual([
      { kid: '6c5f5206-7d98-4808-84d8-94f132c1e9fe', systemId: CLEAR_KEY_AES_128_SYSTEM_ID },
    ]);
  });

  it('accepts a default-namespace document', () => {
    // Prepare
    const xml = `<CPIX xmlns="urn:dashif:org:cpix" id="a1"><ContentKeyList><ContentKey kid="6c5f5206-7d98-4808-84d8-94f132c1e9fe"/></ContentKeyList><DRMSystemList><DRMSystem kid="6c5f5206-7d98-4808-84d8-94f132c1e9fe" systemId="81376844-F976-481E-A84E-CC25D39B0B33"/></DRMSystemList></CPIX>`;
    // Act
    const req = parseCpixRequest(xml);
    // Assess
    expect(req.contentId).toBe('a1');
  });

  it.each([
    [
      'an unknown system id (Widevine)',
      (x: string) => x.replace(CLEAR_KEY_AES_128_SYSTEM_ID, 'edef8ba9-79d6-4ace-a3c8-27dcd51d21ed'),
      400,
      'unsupported_system_id',
    ],
    [
      'a DOCTYPE with an entity',
      (x: string) => x.replace('<cpix:CPIX', '<!DOCTYPE cpix [<!ENTITY lol "lol">]><cpix:CPIX'),
      400,
      'entities_forbidden',
    ],
    [
      'an external entity',
      (x: string) =>
        x.replace('<?xml version="1.0" encoding="UTF-8"?>', '<!DOCTYPE x SYSTEM "file:///etc/passwd">'),
      400,
      'entities_forbidden',
    ],
    ['broken XML', (x: string) => x.replace('</cpix:ContentKeyList>', ''), 400, 'malformed_xml'],
    [
      'an oversized document',
      (x: string) =>
        x.replace('<cpix:ContentKeyList>', `<!--${'x'.repeat(MAX_CPIX_BYTES)}--><cpix:ContentKeyList>`),
      413,
      'too_large',
    ],
    ['a root that is not CPIX', (x: string) => x.replaceAll('cpix:CPIX', 'cpix:Other'), 400, 'not_cpix'],
    [
      'a v2 document (contentId)',
      (x: string) =>
        x.replace('id="a0123456789abcdef012345"', 'contentId="a0123456789abcdef012345" version="2.3"'),
      400,
      'unsupported_version',
    ],
    [
      'a content id that is not an asset id',
      (x: string) => x.replace('id="a0123456789abcdef012345"', 'id="../etc"'),
      400,
      'bad_content_id',
    ],
    [
      'a KID that is not a UUID',
      (x: string) => x.replaceAll('6c5f5206-7d98-4808-84d8-94f132c1e9fe', 'not-a-uuid'),
      400,
      'bad_kid',
    ],
    [
      'a DRMSystem for a KID not requested',
      (x: string) => x.replace('DRMSystem kid="6c5f5206', 'DRMSystem kid="7c5f5206'),
      400,
      'unknown_kid',
    ],
    [
      'no content key',
      (x: string) => x.replace(/<cpix:ContentKey kid[\s\S]*?<\/cpix:ContentKey>/, ''),
      400,
      'no_content_keys',
    ],
    [
      'a DeliveryDataList (encrypted response)',
      (x: string) =>
        x.replace(
          '<cpix:ContentKeyList>',
          '<cpix:DeliveryDataList><cpix:DeliveryData/></cpix:DeliveryDataList><cpix:ContentKeyList>',
        ),
      400,
      'encrypted_response_unsupported',
    ],
  ])('refuses %s with a clear 4xx', (_what, mutate, status, reason) => {
    // Act
    const act = () => parseCpixRequest(mutate(request()));
    // Assess
    expect(act).toThrow(SpekeRequestError);
    expect(act).toThrow(expect.objectContaining({ status, reason, message: expect.stringMatching(/.{10}/) }));
  });

  it('does not expand entity references', () => {
    // Prepare: no declaration, so nothing to expand; the reference must survive as text, not be resolved.
    const xml = request().replace(
      '<cpix:ContentKeyList>',
      '<cpix:Note>&amp;&lt;</cpix:Note><cpix:ContentKeyList>',
    );
    // Act
    const out = fillCpixResponse(parseCpixRequest(xml), { key: KEY, keyUri: KEY_URI });
    // Assess
    expect(out).toContain('<cpix:Note>&amp;&lt;</cpix:Note>');
  });
});

describe('fillCpixResponse', () => {
  it('puts the key in the ContentKey and the base64 key URI, format and versions in the DRMSystem', () => {
    // Act
    const out = parse(fillCpixResponse(parseCpixRequest(request()), { key: KEY, keyUri: KEY_URI }));
    // Assess
    const cpix = out.CPIX as {
      ContentKeyList: { ContentKey: { '@kid': string; Data: { Secret: { PlainValue: string } } } };
      DRMSystemList: { DRMSystem: Record<string, unknown> };
    };
    expect(cpix.ContentKeyList.ContentKey['@kid']).toBe('6c5f5206-7d98-4808-84d8-94f132c1e9fe');
    expect(Buffer.from(cpix.ContentKeyList.ContentKey.Data.Secret.PlainValue, 'base64')).toEqual(KEY);
    const system = cpix.DRMSystemList.DRMSystem;
    expect(Buffer.from(String(system.URIExtXKey), 'base64').toString()).toBe(KEY_URI);
    expect(Buffer.from(String(system.KeyFormatVersions), 'base64').toString()).toBe('1');
    expect(system.KeyFormat).toBe('');
    expect(system).not.toHaveProperty('PSSH');
    expect(system).not.toHaveProperty('ContentProtectionData');
    expect(system).not.toHaveProperty('ProtectionHeader');
  });

  it('echoes the request id, KIDs, key periods and usage rules unchanged', () => {
    // Act
    const out = parse(fillCpixResponse(parseCpixRequest(request()), { key: KEY, keyUri: KEY_URI })).CPIX;
    // Assess
    expect(out['@id']).toBe('a0123456789abcdef012345');
    expect(out.ContentKeyPeriodList).toEqual({
      ContentKeyPeriod: { '@id': 'keyPeriod_e64248f6-f307-4b99-aa67-b35a78253622', '@index': '0' },
    });
    expect(out.ContentKeyUsageRuleList).toEqual({
      ContentKeyUsageRule: {
        '@kid': '6c5f5206-7d98-4808-84d8-94f132c1e9fe',
        KeyPeriodFilter: { '@periodId': 'keyPeriod_e64248f6-f307-4b99-aa67-b35a78253622' },
      },
    });
  });

  it('declares the PSKC namespace when the request did not', () => {
    // Prepare
    const xml = request().replace(' xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc"', '');
    // Act
    const out = fillCpixResponse(parseCpixRequest(xml), { key: KEY, keyUri: KEY_URI });
    // Assess
    expect(out).toContain('xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc"');
    expect(out).toContain(`<pskc:PlainValue>${KEY.toString('base64')}</pskc:PlainValue>`);
  });

  it('replaces a key the request already carried instead of adding a second one', () => {
    // Prepare
    const xml = request().replace(
      '<cpix:ContentKey kid="6c5f5206-7d98-4808-84d8-94f132c1e9fe"></cpix:ContentKey>',
      '<cpix:ContentKey kid="6c5f5206-7d98-4808-84d8-94f132c1e9fe"><cpix:Data><pskc:Secret><pskc:PlainValue>AAAA</pskc:PlainValue></pskc:Secret></cpix:Data></cpix:ContentKey>',
    );
    // Act
    const out = fillCpixResponse(parseCpixRequest(xml), { key: KEY, keyUri: KEY_URI });
    // Assess
    expect(out.match(/PlainValue>/g)).toHaveLength(2);
    expect(out).not.toContain('AAAA');
  });
});

describe('CPIX shape limits', () => {
  const limits = { depth: MAX_CPIX_DEPTH, elements: MAX_CPIX_ELEMENTS };
  const inContentKey = (inside: string) =>
    request().replace('</cpix:ContentKey>', `${inside}</cpix:ContentKey>`);

  it('measures a MediaConvert request well inside the limits', () => {
    // Act
    const shape = xmlShape(request(), limits);

    // Assess
    expect(shape.depth).toBeGreaterThanOrEqual(3);
    expect(shape.depth).toBeLessThan(MAX_CPIX_DEPTH);
    expect(shape.elements).toBeLessThan(MAX_CPIX_ELEMENTS);
  });

  it('ignores tags inside comments, CDATA and quoted attribute values', () => {
    // Act
    const shape = xmlShape('<a x="<b><c>" y=\'>\'><!-- <d><e> --><![CDATA[<f><g>]]><h/></a>', limits);

    // Assess
    expect(shape).toEqual({ depth: 1, elements: 2 });
  });

  it.each([
    ['nested past the depth limit', inContentKey(`${'<a>'.repeat(2000)}${'</a>'.repeat(2000)}`)],
    ['with more elements than the limit', inContentKey('<b/>'.repeat(MAX_CPIX_ELEMENTS + 1))],
    ['nested past the depth limit and never closed', inContentKey('<a>'.repeat(MAX_CPIX_DEPTH + 1))],
  ])('refuses a document %s as too_complex before parsing it', (_what, xml) => {
    // Act
    const parse = () => parseCpixRequest(xml);

    // Assess
    expect(parse).toThrow(SpekeRequestError);
    expect(parse).toThrow(expect.objectContaining({ reason: 'too_complex', status: 400 }));
  });
});
