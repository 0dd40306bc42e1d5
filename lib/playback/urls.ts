/** The public URLs of the key service. The token travels as a query parameter, as Alibaba's MtsHlsUriToken does. */

const withToken = (url: string, token: string) => `${url}?token=${encodeURIComponent(token)}`;

export function keyUrl(baseUrl: string, assetId: string, token?: string): string {
  const url = `${baseUrl}/keys/${encodeURIComponent(assetId)}`;
  return token === undefined ? url : withToken(url, token);
}

/** `playlist` is relative to the asset's output prefix and keeps its `.m3u8` extension. */
export function playUrl(baseUrl: string, assetId: string, playlist: string, token: string): string {
  const path = playlist.split('/').map(encodeURIComponent).join('/');
  return withToken(`${baseUrl}/play/${encodeURIComponent(assetId)}/${path}`, token);
}
