/**
 * The address the key service throttles a client by. Behind the distribution, API Gateway's `sourceIp` is the
 * CloudFront edge's address, shared by every viewer that edge serves; CloudFront passes the viewer's own as
 * `CloudFront-Viewer-Address` ("198.51.100.10:46532", the source port after the last colon, an IPv6 address
 * possibly bracketed). Anyone can send that header straight to the API's own URL, so it is believed only on a
 * request that carries the origin secret the distribution adds to every request it forwards (an origin custom
 * header, which overwrites a viewer's header of the same name).
 */
import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/** The distribution's origin custom header; HTTP API payload 2.0 gives header names in lower case. */
export const ORIGIN_VERIFY_HEADER = 'x-origin-verify';
export const VIEWER_ADDRESS_HEADER = 'cloudfront-viewer-address';

/** The IP of a `CloudFront-Viewer-Address` value, without its port; undefined when it is not an address. */
export function viewerIp(value: string): string | undefined {
  const m = /^\[?([0-9A-Fa-f:.]+?)\]?:(\d{1,5})$/.exec(value.trim());
  const ip = m?.[1];
  return ip && isIP(ip) ? ip : undefined;
}

function sameSecret(presented: string, secret: Buffer): boolean {
  const given = Buffer.from(presented, 'utf8');
  return given.length === secret.length && timingSafeEqual(given, secret);
}

/**
 * The viewer's IP when the request came through the distribution (the origin secret matches), else the address
 * API Gateway saw. Without a configured secret the header is never believed.
 */
export function clientAddressOf(event: APIGatewayProxyEventV2, originSecret: Buffer | undefined): string {
  const sourceIp = event.requestContext.http.sourceIp;
  const presented = event.headers?.[ORIGIN_VERIFY_HEADER];
  if (!originSecret || !presented || !sameSecret(presented, originSecret)) return sourceIp;
  const viewer = event.headers?.[VIEWER_ADDRESS_HEADER];
  return (viewer && viewerIp(viewer)) || sourceIp;
}
