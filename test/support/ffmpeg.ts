/** The ffmpeg that tests make clips with and probe outputs by: FFMPEG_PATH, else the one @ffmpeg-installer ships. */
export const FFMPEG = process.env.FFMPEG_PATH ?? (await import('@ffmpeg-installer/ffmpeg')).default.path;
