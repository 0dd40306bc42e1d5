/**
 * What every local endpoint shares: loopback servers and body reading (`server.ts`), the request guard (loopback
 * Host, SigV4; `request-guard.ts`), each AWS protocol's error envelope (`errors.ts`) and request handling
 * (`aws-json.ts`, `rest-json.ts`).
 */
export {
  type AwsJsonEndpoint,
  type AwsJsonErrors,
  type AwsJsonInput,
  handleAwsJson,
} from './aws-json.js';
export {
  AwsServiceError,
  escapeXml,
  newS3RequestId,
  queryErrorDocument,
  sendApiGatewayError,
  sendAwsError,
  sendAwsJsonError,
  sendQueryError,
  sendRestJsonError,
  sendRestXmlError,
} from './errors.js';
export {
  fromHeaderBytes,
  toHeaderBytes,
} from './header-bytes.js';
export {
  createRequestGuard,
  isLoopbackHost,
  type LocalAuth,
  localPortOf,
  type Refusal,
  type RequestGuard,
  sendRefusal,
} from './request-guard.js';
export {
  handleRestJson,
  type RestJsonErrors,
} from './rest-json.js';
export {
  type LocalServer,
  listenOnLoopback,
  matchRoute,
  parseJsonBody,
  type Reply,
  type Route,
  type RouteRequest,
  readAdmittedBody,
  readBody,
  sendJson,
  serveOnLoopback,
  stopServer,
} from './server.js';
export {
  createSigV4Verifier,
  parseRawQuery,
  type SigV4Verifier,
} from './sigv4-verifier.js';
