/**
 * Reads the KMS permissions out of a packaged CloudFormation template and answers the custody questions of
 * README.md, "Security model": which role may do what with which KMS key under which encryption context, and whether
 * any chain of those permissions turns a blob under the workflow key into one under the playback key.
 *
 * Only the policy shapes this template uses are understood (Allow statements, explicit actions, one key per
 * resource, StringEquals on `kms:EncryptionContext:service` or `kms:ViaService`, Bool on `kms:ReEncryptOnSameKey`);
 * anything else throws, so a new shape fails the test rather than being guessed at.
 */

export type KeyName = 'WorkflowKey' | 'PlaybackKey';
/** `s3` = only through S3 (`kms:ViaService`), which decrypts nothing but its own object keys. */
export type Via = 'direct' | 's3';

export interface KmsPermission {
  action: string;
  key: KeyName;
  /** Allowed `service` values of the encryption context; `undefined` = any context. */
  services: string[] | undefined;
  via: Via;
  /** `kms:ReEncryptOnSameKey` is required to be true. */
  sameKeyOnly: boolean;
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

type Resource = { Type: string; Properties: Record<string, unknown> };

const KMS_DATA_ACTIONS = new Set([
  'kms:Encrypt',
  'kms:Decrypt',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:GenerateDataKeyPair',
  'kms:GenerateDataKeyPairWithoutPlaintext',
]);

function keyOf(resource: unknown): KeyName {
  const text = JSON.stringify(resource);
  const workflow = text.includes('"WorkflowKey"');
  const playback = text.includes('"PlaybackKey"');
  if (workflow === playback) throw new Error(`KMS statement resource names no single key: ${text}`);
  return workflow ? 'WorkflowKey' : 'PlaybackKey';
}

function permissionsOf(st: Statement): KmsPermission[] {
  const actions = ([] as string[]).concat(st.Action).filter((a) => a.startsWith('kms:'));
  if (actions.length === 0) return [];
  if (st.Effect !== 'Allow') throw new Error('Unexpected Deny in a role policy');
  for (const a of actions) if (a.includes('*')) throw new Error(`Wildcard KMS action ${a}`);
  const data = actions.filter((a) => KMS_DATA_ACTIONS.has(a));
  if (data.length === 0) return [];
  const key = keyOf(st.Resource);
  let services: string[] | undefined;
  let via: Via = 'direct';
  let sameKeyOnly = false;
  for (const [operator, clauses] of Object.entries(st.Condition ?? {})) {
    for (const [name, value] of Object.entries(clauses)) {
      if (operator === 'StringEquals' && name === 'kms:EncryptionContext:service') {
        services = ([] as string[]).concat(value as string | string[]);
      } else if (operator === 'StringEquals' && name === 'kms:ViaService') {
        if (!JSON.stringify(value).includes(`s3.${'$'}{AWS::Region}.amazonaws.com`)) {
          throw new Error(`Unexpected kms:ViaService ${JSON.stringify(value)}`);
        }
        via = 's3';
      } else if (operator === 'Bool' && name === 'kms:ReEncryptOnSameKey') {
        sameKeyOnly = String(value) === 'true';
      } else {
        throw new Error(`Unexpected condition ${operator} ${name}`);
      }
    }
  }
  return data.map((action) => ({ action, key, services, via, sameKeyOnly }));
}

/** Every role's KMS data-plane permissions, by logical id. */
export function kmsPermissionsByRole(resources: Record<string, Resource>): Map<string, KmsPermission[]> {
  const out = new Map<string, KmsPermission[]>();
  for (const [name, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::IAM::Role') continue;
    const policies = (resource.Properties.Policies ?? []) as Array<{
      PolicyDocument: { Statement: Statement[] };
    }>;
    out.set(
      name,
      policies.flatMap((p) => p.PolicyDocument.Statement).flatMap((st) => permissionsOf(st)),
    );
  }
  return out;
}

const allowsService = (p: KmsPermission, service: string) =>
  p.services === undefined || p.services.includes(service);

/** Whether `role` may call `action` directly (not via S3) on `key` with encryption context `service`. */
export function can(
  permissions: KmsPermission[],
  action: string,
  key: KeyName,
  service: string,
  options: { sameKey?: boolean } = {},
): boolean {
  return permissions.some(
    (p) =>
      p.via === 'direct' &&
      p.action === action &&
      p.key === key &&
      allowsService(p, service) &&
      (!p.sameKeyOnly || options.sameKey === true),
  );
}

export interface Blob {
  key: KeyName;
  service: string;
}

export interface CustodyPath {
  steps: Array<{ role: string; how: string; to: Blob }>;
}

const ANY_OTHER = '(any other context)';
const PRODUCE_PLAINTEXT_INTO = ['kms:Encrypt', 'kms:GenerateDataKey'];

function universe(byRole: Map<string, KmsPermission[]>): Blob[] {
  const services = new Set<string>([ANY_OTHER]);
  for (const perms of byRole.values())
    for (const p of perms) for (const s of p.services ?? []) services.add(s);
  return (['WorkflowKey', 'PlaybackKey'] as const).flatMap((key) =>
    [...services].map((service) => ({ key, service })),
  );
}

/** Every blob (KMS key and context) that `role` may Decrypt directly. */
export function decryptableBy(byRole: Map<string, KmsPermission[]>, role: string): Blob[] {
  const perms = byRole.get(role) ?? [];
  return universe(byRole).filter((b) => can(perms, 'kms:Decrypt', b.key, b.service));
}

/** Every blob under `key`, whatever its context. */
export function everyBlobUnder(byRole: Map<string, KmsPermission[]>, key: KeyName): Blob[] {
  return universe(byRole).filter((b) => b.key === key);
}

/**
 * A chain of role permissions that carries a key from one of `from` to a blob `isTarget` accepts, or undefined. A
 * step is a ReEncrypt (ReEncryptFrom on the source blob's key and context, ReEncryptTo on the destination's; each side
 * checked against its own context, the more permissive reading), or Decrypt followed by Encrypt by one role (which
 * holds the plaintext in between). S3-only permissions are not steps: S3 decrypts only its own objects' data keys.
 */
export function findPath(
  byRole: Map<string, KmsPermission[]>,
  from: Blob[],
  isTarget: (b: Blob) => boolean,
): CustodyPath | undefined {
  const nodes = universe(byRole);
  const id = (b: Blob) => `${b.key}|${b.service}`;
  const seen = new Map<string, CustodyPath>(from.map((b) => [id(b), { steps: [] }]));
  const queue = [...from];
  while (queue.length > 0) {
    const at = queue.shift() as Blob;
    const path = seen.get(id(at)) as CustodyPath;
    for (const [role, perms] of byRole) {
      for (const to of nodes) {
        if (seen.has(id(to))) continue;
        const sameKey = at.key === to.key;
        const reEncrypt =
          can(perms, 'kms:ReEncryptFrom', at.key, at.service, { sameKey }) &&
          can(perms, 'kms:ReEncryptTo', to.key, to.service, { sameKey });
        const viaPlaintext =
          can(perms, 'kms:Decrypt', at.key, at.service) &&
          PRODUCE_PLAINTEXT_INTO.some((a) => can(perms, a, to.key, to.service));
        if (!reEncrypt && !viaPlaintext) continue;
        const next = {
          steps: [...path.steps, { role, how: reEncrypt ? 'ReEncrypt' : 'Decrypt+Encrypt', to }],
        };
        if (isTarget(to)) return next;
        seen.set(id(to), next);
        queue.push(to);
      }
    }
  }
  return undefined;
}
