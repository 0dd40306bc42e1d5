/**
 * `secure-transcode play <assetId> [--ttl S] [--uses N] [--data-dir D]`: prints a ready player URL with a fresh
 * token for an asset of the running local stack.
 */
import { type CliIo, issueLocalPlayback, parsePlaybackArgs, playerUrlFor, runCli } from './token.js';

export function runPlayCommand(argv: string[], io: CliIo): Promise<number> {
  return runCli(io, 'play', async () => {
    const options = parsePlaybackArgs(argv, 'play', io);
    if (!options) return;
    const { issued, endpoints } = await issueLocalPlayback(options);
    io.stdout.write(`${playerUrlFor(endpoints, options.assetId, issued.token)}\n`);
    io.stderr.write(
      `The token expires at ${issued.expiresAt} and allows ${options.maxUses} key fetch(es).\n`,
    );
  });
}
