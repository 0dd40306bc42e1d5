/**
 * The stack's ports: an explicit port must be free; otherwise the port of the previous run (`<dataDir>/ports.json`)
 * is tried first, so endpoints (and player URLs, AWS CLI profiles) stay the same across restarts of `up`; a free port
 * is taken if it is busy.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writePrivateFile } from './credentials.js';
import type { StackPorts } from './types.js';

export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
}

function portError(what: string, port: number | undefined) {
  return (e: unknown) => {
    if ((e as NodeJS.ErrnoException)?.code === 'EADDRINUSE') {
      throw new PortInUseError(
        `Port ${port} for ${what} is already in use on 127.0.0.1: choose another or stop the process using it.`,
      );
    }
    throw e;
  };
}

/** Starts a server on the port chosen for `key`; `what` names it in the error when an explicit port is busy. */
export type OnPort = <T extends { endpoint: string }>(
  what: string,
  key: keyof StackPorts,
  start: (port: number | undefined) => Promise<T>,
) => Promise<T>;

export interface PortPlan {
  onPort: OnPort;
  /** Records the ports taken in `ports.json`, for the next run. */
  save(): void;
}

export function planPorts(dataDir: string, ports: StackPorts): PortPlan {
  const portsPath = join(dataDir, 'ports.json');
  const previousPorts = existsSync(portsPath)
    ? (JSON.parse(readFileSync(portsPath, 'utf8')) as StackPorts)
    : {};
  const chosenPorts: StackPorts = {};
  const onPort: OnPort = async <T extends { endpoint: string }>(
    what: string,
    key: keyof StackPorts,
    start: (port: number | undefined) => Promise<T>,
  ): Promise<T> => {
    const explicit = ports[key];
    let server: T | undefined;
    if (explicit !== undefined) server = await start(explicit).catch(portError(what, explicit));
    else if (previousPorts[key]) {
      server = await start(previousPorts[key]).catch((e: unknown) => {
        if ((e as NodeJS.ErrnoException)?.code === 'EADDRINUSE') return undefined;
        throw e;
      });
    }
    server ??= await start(undefined);
    chosenPorts[key] = Number(new URL(server.endpoint).port);
    return server;
  };
  return {
    onPort,
    save: () => writePrivateFile(portsPath, `${JSON.stringify(chosenPorts)}\n`),
  };
}
