/** One local runtime (in memory) for the e2e run; each test works in its own tenant. */
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { spawnRuntime } from './spawn-runtime';

declare module 'vitest' {
  export interface ProvidedContext {
    runtimeUrl: string;
    jwtSecret: string;
  }
}

export const E2E_JWT_SECRET = 'e2e-secret-not-the-default';

export default async function setup(project: TestProject) {
  const runtime = await spawnRuntime({ WAYPOST_IN_MEMORY: '1', WAYPOST_JWT_SECRET: E2E_JWT_SECRET });
  project.provide('runtimeUrl', runtime.url);
  project.provide('jwtSecret', E2E_JWT_SECRET);
  return async () => {
    await runtime.stop();
  };
}
