export { type LocalEventBridge, type LocalEventBridgeOptions, startLocalEventBridge } from './server.js';
