export { type ConsoleOptions, mountConsole } from './server.js';
