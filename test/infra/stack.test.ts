/**
 * The synthesized Waypost stack, built once (as `bin/waypost.ts` builds it,
 * cdk-nag included) and checked construct by construct; each suite lives in
 * `suites/`.
 */
import { afterAll, beforeAll } from 'vitest';
import { buildTestApp, type Built } from './support';
import { consoleTests } from './suites/console';
import { dataTablesTests } from './suites/data-tables';
import { httpApiTests } from './suites/http-api';
import { iamTests } from './suites/iam';
import { nagTests } from './suites/nag';
import { operationsTests } from './suites/operations';
import { realtimeApiTests } from './suites/realtime-api';
import { slaEscalationTests } from './suites/sla-escalation';

let built: Built | undefined;
const shared = (): Built => {
  if (built === undefined) throw new Error('the stack is built in beforeAll');
  return built;
};

beforeAll(() => {
  built = buildTestApp();
});
afterAll(() => built?.dispose());

dataTablesTests(shared);
realtimeApiTests(shared);
httpApiTests(shared);
slaEscalationTests(shared);
iamTests(shared);
consoleTests(shared);
operationsTests(shared);
nagTests(shared);
