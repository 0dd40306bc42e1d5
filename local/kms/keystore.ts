/**
 * Keys and aliases of the local KMS, persisted under `<dataDir>/kms/` so wrapped keys in S3 metadata and asset
 * records stay decryptable across restarts. The directory is 0700 and every file 0600: the files hold raw key
 * material, the one secret the whole local stack depends on.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KmsError } from './errors.js';

export interface KmsKey {
  keyId: string;
  arn: string;
  description: string;
  enabled: boolean;
  /** Epoch seconds, as KMS reports dates. */
  creationDate: number;
  material: Buffer;
}

export interface KmsAlias {
  aliasName: string;
  aliasArn: string;
  targetKeyId: string;
  creationDate: number;
}

interface KeyFile {
  keyId: string;
  description: string;
  enabled: boolean;
  creationDate: number;
  material: string;
}

const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function writePrivate(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode: 0o600 });
  // A temp file left by a crash would keep its old mode through writeFile: set the mode explicitly.
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

export class KeyStore {
  private readonly keys = new Map<string, KmsKey>();
  private readonly aliases = new Map<string, KmsAlias>();

  private constructor(
    private readonly dir: string,
    readonly region: string,
    readonly accountId: string,
  ) {}

  static async open(dataDir: string, region: string, accountId: string): Promise<KeyStore> {
    const store = new KeyStore(join(dataDir, 'kms'), region, accountId);
    await store.load();
    return store;
  }

  private get keysDir(): string {
    return join(this.dir, 'keys');
  }

  private get aliasFile(): string {
    return join(this.dir, 'aliases.json');
  }

  private async load(): Promise<void> {
    await mkdir(this.keysDir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
    await chmod(this.keysDir, 0o700);
    for (const name of await readdir(this.keysDir)) {
      if (!name.endsWith('.json')) continue;
      const file = JSON.parse(await readFile(join(this.keysDir, name), 'utf8')) as KeyFile;
      this.keys.set(file.keyId, {
        keyId: file.keyId,
        arn: this.keyArn(file.keyId),
        description: file.description,
        enabled: file.enabled,
        creationDate: file.creationDate,
        material: Buffer.from(file.material, 'base64'),
      });
    }
    const aliases = await readFile(this.aliasFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return '[]';
      throw e;
    });
    for (const a of JSON.parse(aliases) as Omit<KmsAlias, 'aliasArn'>[]) {
      this.aliases.set(a.aliasName, { ...a, aliasArn: this.aliasArn(a.aliasName) });
    }
  }

  keyArn(keyId: string): string {
    return `arn:aws:kms:${this.region}:${this.accountId}:key/${keyId}`;
  }

  aliasArn(aliasName: string): string {
    return `arn:aws:kms:${this.region}:${this.accountId}:${aliasName}`;
  }

  private async persistKey(key: KmsKey): Promise<void> {
    const file: KeyFile = {
      keyId: key.keyId,
      description: key.description,
      enabled: key.enabled,
      creationDate: key.creationDate,
      material: key.material.toString('base64'),
    };
    await writePrivate(join(this.keysDir, `${key.keyId}.json`), JSON.stringify(file));
  }

  async createKey(description = ''): Promise<KmsKey> {
    const keyId = randomUUID();
    const key: KmsKey = {
      keyId,
      arn: this.keyArn(keyId),
      description,
      enabled: true,
      creationDate: Math.floor(Date.now() / 1000),
      material: randomBytes(32),
    };
    await this.persistKey(key);
    this.keys.set(keyId, key);
    return key;
  }

  async setEnabled(key: KmsKey, enabled: boolean): Promise<void> {
    await this.persistKey({ ...key, enabled });
    key.enabled = enabled;
  }

  async createAlias(aliasName: string, target: KmsKey): Promise<void> {
    if (this.aliases.has(aliasName)) {
      throw new KmsError(
        'AlreadyExistsException',
        `An alias with the name ${this.aliasArn(aliasName)} already exists`,
      );
    }
    const alias = {
      aliasName,
      aliasArn: this.aliasArn(aliasName),
      targetKeyId: target.keyId,
      creationDate: Date.now() / 1000,
    };
    const all = [...this.aliases.values(), alias].map(({ aliasArn: _, ...rest }) => rest);
    await writePrivate(this.aliasFile, JSON.stringify(all));
    this.aliases.set(aliasName, alias);
  }

  /** Keys in creation order, as ListKeys pages them. */
  listKeys(): KmsKey[] {
    return [...this.keys.values()].sort(
      (a, b) => a.creationDate - b.creationDate || a.keyId.localeCompare(b.keyId),
    );
  }

  listAliases(): KmsAlias[] {
    return [...this.aliases.values()].sort((a, b) => a.aliasName.localeCompare(b.aliasName));
  }

  byId(keyId: string): KmsKey | undefined {
    return this.keys.get(keyId);
  }

  /**
   * Resolves a key id, key ARN, alias name or alias ARN as KMS does. Operations that manage a key itself
   * (Enable/Disable/CreateAlias target) accept only the key id or key ARN.
   */
  resolve(ref: string, allowAlias = true): KmsKey {
    const notFound = () => new KmsError('NotFoundException', `Key '${this.describeRef(ref)}' does not exist`);
    const arn = /^arn:aws[\w-]*:kms:([^:]+):(\d{12}):(.+)$/.exec(ref);
    let local = ref;
    if (arn) {
      if (arn[1] !== this.region || arn[2] !== this.accountId) throw notFound();
      local = arn[3] ?? '';
      if (local.startsWith('key/')) local = local.slice(4);
      else if (!local.startsWith('alias/')) throw notFound();
    }
    if (local.startsWith('alias/')) {
      if (!allowAlias) throw notFound();
      const alias = this.aliases.get(local);
      const key = alias && this.keys.get(alias.targetKeyId);
      if (!key) throw new KmsError('NotFoundException', `Alias ${this.aliasArn(local)} is not found.`);
      return key;
    }
    if (!KEY_ID.test(local)) throw notFound();
    const key = this.keys.get(local);
    if (!key) throw notFound();
    return key;
  }

  private describeRef(ref: string): string {
    return ref.startsWith('arn:') ? ref : this.keyArn(ref);
  }
}
