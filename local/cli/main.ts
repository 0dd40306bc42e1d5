/**
 * The `secure-transcode` command line. Subcommands are loaded on demand, so `status` and `--help` start instantly
 * and a module that is missing or broken names itself instead of breaking every command.
 */
import { readFileSync } from 'node:fs';
import { type CliIo, CommandError, UsageError } from './common.js';

export const USAGE = `Usage: secure-transcode <command> [options]

Commands:
  run [files…]         start the local stack, transcode the files (a sample clip if none), show the results;
                       --serve keeps the stack, the console and the player running afterwards
  up                   run the local stack and its console in the foreground; any upload under incoming/ starts
                       the workflow
  status               list workflow executions: state, step, age, duration, source, asset and error
  token <assetId>      issue a playback token for an asset of the running stack
  play <assetId>       print a player URL with a fresh token for an asset of the running stack
  encrypt <src> <dst>  encrypt a file or S3 object the way the workflow does (openssl-compatible)
  credentials          print the stack's credentials as shell exports; --rotate replaces them
  --version            print the version and the Node that runs the CLI (the project's pinned Node 22)

Run \`secure-transcode <command> --help\` for a command's options. The data directory defaults to ./.secure-transcode/.`;

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? 'unknown';
}

type Command = (argv: string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<string, { module: string; load: () => Promise<Command> }> = {
  run: { module: 'local/cli/run.ts', load: async () => (await import('./run.js')).runRunCommand },
  up: { module: 'local/cli/up.ts', load: async () => (await import('./up.js')).runUpCommand },
  status: { module: 'local/cli/status.ts', load: async () => (await import('./status.js')).runStatusCommand },
  token: { module: 'local/cli/token.ts', load: async () => (await import('./token.js')).runTokenCommand },
  play: { module: 'local/cli/play.ts', load: async () => (await import('./play.js')).runPlayCommand },
  encrypt: {
    module: 'local/cli/encrypt.ts',
    load: async () => (await import('./encrypt.js')).runEncryptCommand,
  },
  credentials: {
    module: 'local/cli/credentials.ts',
    load: async () => (await import('./credentials.js')).runCredentialsCommand,
  },
};

export async function main(
  argv: string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v') {
    io.stdout.write(
      `secure-transcode ${packageVersion()} on Node ${process.version} (${process.execPath})\n`,
    );
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`secure-transcode: unknown command "${name}"\n\n${USAGE}\n`);
    return 2;
  }
  let run: Command;
  try {
    run = await command.load();
  } catch (e) {
    io.stderr.write(
      `secure-transcode: the "${name}" command is not available: ${command.module} failed to load (${(e as Error).message})\n`,
    );
    return 1;
  }
  try {
    return await run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(
        `secure-transcode ${name}: ${e.message}\nRun \`secure-transcode ${name} --help\` for usage.\n`,
      );
      return 2;
    }
    if (e instanceof CommandError) {
      io.stderr.write(`secure-transcode ${name}: ${e.message}\n`);
      return 1;
    }
    const err = e as Error;
    io.stderr.write(`secure-transcode ${name}: ${err?.stack ?? String(e)}\n`);
    return 1;
  }
}
