/** One local runtime (in memory) for the e2e run; each test works in its own tenant. */
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import type { LocalCredentials } from '../../local/credentials';
import { spawnRuntime } from './spawn-runtime';

declare module 'vitest' {
  export interface ProvidedContext {
    runtimeUrl: string;
    jwtSecret: string;
    /** The runtime's own credentials: they sign `@connections` calls and open its DynamoDB Local database. */
    runtimeCredentials: LocalCredentials | null;
    runtimeDynamodbPort: number;
  }
}

export const E2E_JWT_SECRET = 'e2e-secret-not-the-default';

export default async function setup(project: TestProject) {
  const runtime = await spawnRuntime({ WAYPOST_IN_MEMORY: '1', WAYPOST_JWT_SECRET: E2E_JWT_SECRET });
  project.provide('runtimeUrl', runtime.url);
  project.provide('jwtSecret', E2E_JWT_SECRET);
  project.provide('runtimeCredentials', runtime.credentials);
  project.provide('runtimeDynamodbPort', runtime.dynamodbPort);
  return async () => {
    await runtime.stop();
  };
}
