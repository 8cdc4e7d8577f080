/**
 * DynamoDB Local listens on every interface and takes any credentials. It
 * keeps one database per access key, so the runtime opens it with a random
 * key of its own (kept in the data dir, mode 0600): a stranger with made-up
 * credentials sees no tables. A data dir from before (one shared database
 * file) is taken over by the new key, so nothing vanishes on upgrade.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { LOCAL_REGION } from '../../local/dynamodb';
import { castOf, http, orderFor, uniqueTenant } from '../support/client';
import { spawnRuntime } from '../support/spawn-runtime';

const dataDir = mkdtempSync(join(tmpdir(), 'waypost-key-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

interface Key {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Table names DynamoDB Local lists on `port` for these credentials. */
async function tablesSeenBy(port: number, credentials: Key): Promise<string[]> {
  const client = new DynamoDBClient({ endpoint: `http://127.0.0.1:${port}`, region: LOCAL_REGION, credentials: { ...credentials }, maxAttempts: 1 }); // the SDK marks the object it is given
  try {
    return (await client.send(new ListTablesCommand({}))).TableNames ?? [];
  } finally {
    client.destroy();
  }
}

const strangers = [
  { accessKeyId: 'local', secretAccessKey: 'local' },
  { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
];

describe("the runtime's DynamoDB Local key", () => {
  it('in memory: a stranger with made-up credentials sees no tables while the runtime works', async () => {
    const port = inject('runtimeDynamodbPort');
    const own = inject('runtimeCredentials');
    expect(own).not.toBeNull();
    expect((await tablesSeenBy(port, own!)).length).toBeGreaterThanOrEqual(2);
    for (const stranger of strangers) expect(await tablesSeenBy(port, stranger)).toEqual([]);
    const cast = await castOf(inject('jwtSecret'), uniqueTenant('key'));
    await orderFor(inject('runtimeUrl'), cast);
  });

  it('on a data dir: keeps the key in a 0600 file, hides the tables from strangers, keeps data over restarts and takes over an older shared database', async () => {
    const secret = 'key-secret';
    const cast = await castOf(secret, uniqueTenant('keyfile'));
    const first = await spawnRuntime({ WAYPOST_DATA_DIR: dataDir, WAYPOST_JWT_SECRET: secret });
    let orderId = '';
    let key: Key = { accessKeyId: '', secretAccessKey: '' };
    try {
      orderId = await orderFor(first.url, cast);
      for (const stranger of strangers) expect(await tablesSeenBy(first.dynamodbPort, stranger)).toEqual([]);
      const file = join(dataDir, 'credentials.json');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      key = JSON.parse(readFileSync(file, 'utf8')) as Key;
      expect(first.credentials).toEqual(key);
      expect(first.output()).not.toContain(key.secretAccessKey);
      expect((await tablesSeenBy(first.dynamodbPort, key)).length).toBeGreaterThanOrEqual(2);
      expect(readdirSync(dataDir)).toContain(`${key.accessKeyId}_${LOCAL_REGION}.db`);
    } finally {
      expect(await first.stop()).toBe(0);
    }
    const read = async (url: string) => (await http<{ order: { orderId: string } }>(url, 'GET', `/api/orders/${encodeURIComponent(orderId)}`, { token: cast.dispatcher })).status;

    // A restart reuses the key, and so the database.
    const second = await spawnRuntime({ WAYPOST_DATA_DIR: dataDir, WAYPOST_JWT_SECRET: secret });
    try {
      expect(second.credentials).toEqual(key);
      expect(await read(second.url)).toBe(200);
    } finally {
      expect(await second.stop()).toBe(0);
    }

    // A data dir as an older version left it: one shared database file, no key file.
    renameSync(join(dataDir, `${key.accessKeyId}_${LOCAL_REGION}.db`), join(dataDir, 'shared-local-instance.db'));
    rmSync(join(dataDir, 'credentials.json'));
    const upgraded = await spawnRuntime({ WAYPOST_DATA_DIR: dataDir, WAYPOST_JWT_SECRET: secret });
    try {
      expect(upgraded.credentials?.accessKeyId).not.toBe(key.accessKeyId);
      expect(await read(upgraded.url)).toBe(200);
      expect(existsSync(join(dataDir, 'shared-local-instance.db'))).toBe(false);
      expect(statSync(join(dataDir, 'credentials.json')).mode & 0o777).toBe(0o600);
      for (const stranger of strangers) expect(await tablesSeenBy(upgraded.dynamodbPort, stranger)).toEqual([]);
    } finally {
      expect(await upgraded.stop()).toBe(0);
    }
  });
});
