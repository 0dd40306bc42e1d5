/** The ffmpeg tests make clips with and probe outputs by: FFMPEG_PATH when set, else the one @ffmpeg-installer ships. */
export const FFMPEG = process.env.FFMPEG_PATH ?? (await import('@ffmpeg-installer/ffmpeg')).default.path;
