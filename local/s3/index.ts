export { MAX_PUT_BYTES } from './body.js';
export {
  type ObjectCreatedEvent,
  type ObjectCreatedEventName,
  type S3Gateway,
  type S3GatewayOptions,
  type S3RequestRecord,
  startS3Gateway,
} from './gateway.js';
