/** Helpers for the S3 XML documents the gateway writes (listings, results); its `<Error>` is in local/http/errors.ts. */
import { escapeXml, newS3RequestId } from '../http/errors.js';

export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

export function unescapeXml(s: string): string {
  return s
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&apos;', "'")
    .replaceAll('&amp;', '&');
}

export function el(name: string, value: string | number | boolean): string {
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

export function doc(root: string, inner: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${S3_NS}">${inner}</${root}>`;
}

export const newRequestId = newS3RequestId;

/** First `<tag>…</tag>` text in a small XML document. */
export function xmlValue(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return m?.[1] === undefined ? undefined : unescapeXml(m[1]);
}

export const OWNER = '<ID>local</ID><DisplayName>local</DisplayName>';
