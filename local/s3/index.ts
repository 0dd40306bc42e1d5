export {
  FAUXQS_BODY_LIMIT,
  type ObjectCreatedEvent,
  type S3Gateway,
  type S3GatewayOptions,
  startS3Gateway,
} from './gateway.js';
