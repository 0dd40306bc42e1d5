/**
 * Playlist rewriting (the analogue of Alibaba's MtsHlsUriToken): the stored playlists are never public. On the way out,
 * EXT-X-KEY URIs point at our key endpoint with the token; variant playlists point back at the play route with the
 * token (a presigned playlist would lose its query string when the player resolves the segment URIs inside it);
 * segments and init sections become short-lived signed URLs.
 */
import { isSafeKey, KEY_SEGMENT_RULE } from '../paths.js';

export interface RewriteOptions {
  /** Key of the playlist being rewritten, relative to the asset's output prefix. */
  playlist: string;
  /** The key URL, token included. */
  keyUrl: string;
  /** The play-route URL (token included) of another playlist, given relative to the output prefix. */
  playlistUrl(relativePlaylist: string): string;
  /** A signed URL for a media object, given relative to the output prefix. */
  signMedia(relativeKey: string): Promise<string>;
}

const ABSOLUTE = /^[a-z][a-z0-9+.-]*:/i;
const URI_ATTRIBUTE = /URI="([^"]*)"/;

export class PlaylistRewriteError extends Error {
  override readonly name = 'PlaylistRewriteError';
}

/**
 * Resolves a playlist-relative URI to a key relative to the output prefix by concatenation. Nothing is normalised:
 * a URI with an empty, `.` or `..` segment is refused (the transcoders write none), so no spelling can reach past the
 * asset's prefix or name an object other than the one S3 would store under that key.
 */
function resolveRelative(playlist: string, uri: string): string {
  let path: string;
  try {
    path = decodeURIComponent(uri.split(/[?#]/, 1)[0] ?? '');
  } catch {
    throw new PlaylistRewriteError(
      `Playlist ${playlist} references ${uri}, which is not valid percent-encoding`,
    );
  }
  const slash = playlist.lastIndexOf('/');
  const resolved = `${slash < 0 ? '' : playlist.slice(0, slash + 1)}${path}`;
  if (!isSafeKey(resolved)) {
    throw new PlaylistRewriteError(`Playlist ${playlist} references ${uri}: ${KEY_SEGMENT_RULE}`);
  }
  return resolved;
}

const isPlaylist = (key: string) => key.toLowerCase().endsWith('.m3u8');

export async function rewritePlaylist(text: string, options: RewriteOptions): Promise<string> {
  const lines = text.split(/\r?\n/);
  if (lines[0]?.trim() !== '#EXTM3U')
    throw new PlaylistRewriteError(`${options.playlist} is not an M3U8 playlist`);

  const rewriteUri = async (uri: string): Promise<string> => {
    if (ABSOLUTE.test(uri)) return uri;
    const key = resolveRelative(options.playlist, uri);
    return isPlaylist(key) ? options.playlistUrl(key) : options.signMedia(key);
  };

  const out = await Promise.all(
    lines.map(async (line) => {
      const trimmed = line.trim();
      if (trimmed === '') return line;
      if (!trimmed.startsWith('#')) return rewriteUri(trimmed);
      if (trimmed.startsWith('#EXT-X-KEY:') || trimmed.startsWith('#EXT-X-SESSION-KEY:')) {
        if (/METHOD=NONE/.test(trimmed)) return line;
        return URI_ATTRIBUTE.test(trimmed)
          ? trimmed.replace(URI_ATTRIBUTE, () => `URI="${options.keyUrl}"`)
          : `${trimmed},URI="${options.keyUrl}"`;
      }
      if (/^#EXT-X-(MAP|MEDIA|I-FRAME-STREAM-INF):/.test(trimmed)) {
        const match = URI_ATTRIBUTE.exec(trimmed);
        if (!match?.[1]) return line;
        const replaced = await rewriteUri(match[1]);
        return trimmed.replace(URI_ATTRIBUTE, () => `URI="${replaced}"`);
      }
      return line;
    }),
  );
  return out.join('\n');
}
