/**
 * The local runtime's own AWS-style credentials: random, one pair per data
 * directory (or per start, in memory). DynamoDB Local keeps one database file
 * per access key id (`<accessKeyId>_<region>.db`), so a client with made-up
 * credentials opens an empty database of its own and sees none of the
 * runtime's tables; the gateway's `@connections` API checks the SigV4
 * signature made with the secret. Whoever can read the file has both.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

/** An access key id and its secret, in the shape AWS SDK clients take as `credentials`. */
export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** The file, in the data directory, that holds the pair (mode 0600). */
export const CREDENTIALS_FILE = 'credentials.json';

/** What `npm start` prints before the file's path (the path only, never the secret; the line ends with it). */
export const CREDENTIALS_BANNER = 'Local credentials in ';

/** DynamoDB Local allows only letters and digits in an access key id. */
const credentialsSchema = z.object({
  accessKeyId: z.string().regex(/^[A-Za-z0-9]{16,128}$/),
  secretAccessKey: z.string().min(32),
});

/** A new random pair: `LOCAL` and 80 random bits (hex) as the key id, 160 random bits (hex) as the secret. */
export function freshCredentials(): LocalCredentials {
  return {
    accessKeyId: `LOCAL${randomBytes(10).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(20).toString('hex'),
  };
}

/**
 * Read a credentials file written by `dataDirCredentials` or
 * `inMemoryCredentials`.
 *
 * @throws Error when the file is missing or does not hold such a pair.
 */
export function readCredentialsFile(path: string): LocalCredentials {
  const parsed = credentialsSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) throw new Error(`${path} does not hold local credentials; delete it to make new ones`);
  return parsed.data;
}

/**
 * The credentials of a runtime started as `npm start` does, read from the
 * file its ready banner names (the line `Local credentials in <path>`).
 *
 * @returns null when the output has no such line yet.
 * @throws Error when the named file does not hold a pair.
 */
export function credentialsFromBanner(output: string): LocalCredentials | null {
  const at = output.indexOf(CREDENTIALS_BANNER);
  if (at < 0) return null;
  const end = output.indexOf('\n', at);
  if (end < 0) return null;
  return readCredentialsFile(output.slice(at + CREDENTIALS_BANNER.length, end).trim());
}

function writeNew(path: string, credentials: LocalCredentials): void {
  // `wx`: never overwrite a pair another process has just written.
  writeFileSync(path, `${JSON.stringify(credentials)}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
}

/**
 * The data directory's pair: read from `<dataDir>/credentials.json`, or made
 * and written there (mode 0600) the first time, so the database stays the
 * same across restarts. A file left with wider permissions is set back to 0600.
 *
 * @throws Error when the file exists but does not hold a pair.
 */
export function dataDirCredentials(dataDir: string): { credentials: LocalCredentials; file: string } {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, CREDENTIALS_FILE);
  if (!existsSync(file)) {
    try {
      writeNew(file, freshCredentials());
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  if ((statSync(file).mode & 0o777) !== 0o600) chmodSync(file, 0o600);
  return { credentials: readCredentialsFile(file), file };
}

/**
 * A fresh pair for an in-memory runtime, written (mode 0600) to a new private
 * directory (0700) under the system's temp directory, so local tools can sign
 * with it; `remove` deletes that directory.
 */
export function inMemoryCredentials(): { credentials: LocalCredentials; file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'waypost-credentials-'));
  const file = join(dir, CREDENTIALS_FILE);
  const credentials = freshCredentials();
  writeNew(file, credentials);
  return { credentials, file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The database files earlier versions left in a data directory: the one
 * shared by every key (`-sharedDb`, what the runtime ran with before it had a
 * key of its own), or the one of the public key `local`.
 */
export function legacyDatabaseFiles(region: string): readonly string[] {
  return ['shared-local-instance.db', `local_${region}.db`];
}

/**
 * Give an existing database to the new key, once: rename the first legacy
 * database file found to `<accessKeyId>_<region>.db`, unless that file
 * exists already.
 *
 * @returns the legacy file name that was renamed, or null when none was.
 */
export function migrateLegacyDatabase(dataDir: string, accessKeyId: string, region: string): string | null {
  const target = join(dataDir, `${accessKeyId}_${region}.db`);
  if (existsSync(target)) return null;
  for (const name of legacyDatabaseFiles(region)) {
    const old = join(dataDir, name);
    if (existsSync(old)) {
      renameSync(old, target);
      return name;
    }
  }
  return null;
}
