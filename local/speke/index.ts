export { type SpekeServer, type SpekeServerOptions, startSpekeServer } from './server.js';
