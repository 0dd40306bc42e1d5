export {
  FAUXQS_BODY_LIMIT,
  type ObjectCreatedEvent,
  type S3Gateway,
  type S3GatewayOptions,
  type S3RequestRecord,
  startS3Gateway,
} from './gateway.js';
