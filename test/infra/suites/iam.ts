/**
 * Each function may do what its code does, on what it does it to: its own
 * log group, its tables and the indexes it queries by name, this API's
 * `@connections` for the fan-out (post, and delete expired connections) and
 * `$default` (delete a connection whose token expired), SMS for the sweep.
 * Nothing else.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AppFunction, FunctionName } from '../../../lib/app-function';
import type { WaypostStack } from '../../../lib/waypost-stack';
import { INDEX } from '../../../shared/store/tables';
import { TEST_CONTEXT, actionsOf, flat, logicalId, resourcesOf, statementsOfRole, type Built, type Statement } from '../support';

export function iamTests(shared: () => Built): void {
  let template: Template;
  let stack: WaypostStack;
  let fns: Record<FunctionName, AppFunction>;
  let O: string;
  let C: string;

  beforeAll(() => {
    ({ template, stack } = shared());
    fns = {
      'ws-connect': stack.realtime.connectFn,
      'ws-disconnect': stack.realtime.disconnectFn,
      'ws-default': stack.realtime.defaultFn,
      fanout: stack.realtime.fanoutFn,
      'http-api': stack.http.fn,
      'sla-sweep': stack.sla.fn,
    };
    O = logicalId(stack, stack.tables.orders);
    C = logicalId(stack, stack.tables.connections);
  });

  const statementsOf = (fn: FunctionName): Statement[] => statementsOfRole(template, logicalId(stack, fns[fn].executionRole));

  /** action → resources, for the DynamoDB statements of a function. */
  function dynamoGrants(fn: FunctionName): Map<string, Set<string>> {
    const grants = new Map<string, Set<string>>();
    for (const s of statementsOf(fn)) {
      for (const action of actionsOf(s).filter((a) => a.startsWith('dynamodb:'))) {
        expect(s.Effect).toBe('Allow');
        const set = grants.get(action) ?? new Set<string>();
        for (const r of resourcesOf(s)) set.add(flat(r));
        grants.set(action, set);
      }
    }
    return grants;
  }

  const table = (id: string) => `<${id}.Arn>`;
  const index = (id: string, name: string) => `<${id}.Arn>/index/${name}`;

  describe('DynamoDB access, function by function', () => {
    const expected: Record<FunctionName, () => Record<string, string[]>> = {
      'ws-connect': () => ({ 'dynamodb:PutItem': [table(C)] }),
      'ws-disconnect': () => ({ 'dynamodb:GetItem': [table(C)], 'dynamodb:BatchWriteItem': [table(C)] }),
      'ws-default': () => ({
        'dynamodb:GetItem': [table(O), table(C)],
        'dynamodb:Query': [table(O)],
        'dynamodb:PutItem': [table(O), table(C)],
        'dynamodb:UpdateItem': [table(O), table(C)],
        'dynamodb:DeleteItem': [table(C)],
      }),
      fanout: () => ({
        'dynamodb:Query': [table(C)],
        'dynamodb:GetItem': [table(C)],
        'dynamodb:UpdateItem': [table(C), table(O)],
        'dynamodb:DeleteItem': [table(C)],
        'dynamodb:BatchWriteItem': [table(C)],
        // The stream, granted by the event source mapping.
        'dynamodb:DescribeStream': [`<${O}.StreamArn>`],
        'dynamodb:GetRecords': [`<${O}.StreamArn>`],
        'dynamodb:GetShardIterator': [`<${O}.StreamArn>`],
        'dynamodb:ListStreams': [`<${O}.StreamArn>`],
      }),
      'http-api': () => ({
        'dynamodb:GetItem': [table(O)],
        'dynamodb:BatchGetItem': [table(O)],
        'dynamodb:Query': [table(O), ...[INDEX.byTenant, INDEX.byRetailer, INDEX.byDriver, INDEX.byAlertState].map((i) => index(O, i))],
        'dynamodb:PutItem': [table(O)],
        'dynamodb:UpdateItem': [table(O)],
      }),
      'sla-sweep': () => ({
        'dynamodb:GetItem': [table(O)],
        'dynamodb:Query': [table(O), index(O, INDEX.byDue)],
        'dynamodb:PutItem': [table(O)],
        'dynamodb:UpdateItem': [table(O)],
      }),
    };

    it.each(Object.keys(expected) as FunctionName[])('%s: exactly its actions on its tables and named indexes', (fn) => {
      const actual = Object.fromEntries([...dynamoGrants(fn)].map(([a, rs]) => [a, [...rs].sort()]));
      const want = Object.fromEntries(Object.entries(expected[fn]()).map(([a, rs]) => [a, [...rs].sort()]));
      expect(actual).toEqual(want);
    });

    it('grants no Scan, no wildcard action and no index/* anywhere', () => {
      for (const fn of Object.keys(fns) as FunctionName[]) {
        for (const s of statementsOf(fn)) {
          for (const a of actionsOf(s)) expect(a === 'dynamodb:Scan' || a.includes('*'), `${fn}: ${a}`).toBe(false);
          for (const r of resourcesOf(s)) expect(flat(r), fn).not.toMatch(/\/index\/\*/);
        }
      }
    });
  });

  describe('logs', () => {
    it.each(['ws-connect', 'ws-disconnect', 'ws-default', 'fanout', 'http-api', 'sla-sweep'] as const)(
      '%s writes only its own log group, with no managed policy on its role',
      (fn) => {
        const logs = statementsOf(fn).filter((s) => actionsOf(s).some((a) => a.startsWith('logs:')));
        expect(logs.flatMap(actionsOf).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
        expect(logs.flatMap(resourcesOf).map(flat)).toEqual([`<${logicalId(stack, fns[fn].logs)}.Arn>`]);
        const role = template.toJSON().Resources[logicalId(stack, fns[fn].executionRole)] as { Properties: { ManagedPolicyArns?: unknown } };
        expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      },
    );
  });

  describe('execute-api:ManageConnections', () => {
    const connectionsArn = (method: string) =>
      `arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${logicalId(stack, stack.realtime.api)}>/${TEST_CONTEXT.stage}/${method}/@connections/*`;
    const grantsOf = (fn: FunctionName) => statementsOf(fn).filter((s) => actionsOf(s).some((a) => a.startsWith('execute-api:')));

    it('is granted to the fan-out and $default alone', () => {
      const holders = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([, p]) =>
        JSON.stringify(p.Properties).includes('execute-api:'),
      );
      expect(holders.map(([id]) => id).sort()).toEqual([expect.stringMatching(/^RealtimeDefaultFnRole/), expect.stringMatching(/^RealtimeFanoutFnRole/)]);
    });

    it("lets the fan-out POST and DELETE on this API's stage @connections only", () => {
      const grants = grantsOf('fanout');
      expect(grants.flatMap(actionsOf)).toEqual(['execute-api:ManageConnections']);
      expect(grants.flatMap(resourcesOf).map(flat).sort()).toEqual([connectionsArn('DELETE'), connectionsArn('POST')]);
    });

    it("lets $default only DELETE (a connection whose token expired) on this API's stage @connections", () => {
      const grants = grantsOf('ws-default');
      expect(grants.flatMap(actionsOf)).toEqual(['execute-api:ManageConnections']);
      expect(grants.flatMap(resourcesOf).map(flat)).toEqual([connectionsArn('DELETE')]);
    });
  });

  describe('sns:Publish', () => {
    it('is granted to the SLA sweep alone', () => {
      const holders = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([, p]) => JSON.stringify(p.Properties).includes('sns:'));
      expect(holders.map(([id]) => id)).toEqual([expect.stringMatching(/^SlaSweepFnRole/)]);
    });

    it('reaches phone numbers only: allowed on "*" (SMS has no ARN), denied on every SNS ARN', () => {
      const sns = statementsOf('sla-sweep').filter((s) => actionsOf(s).some((a) => a.startsWith('sns:')));
      expect(sns.map((s) => ({ effect: s.Effect, actions: actionsOf(s), resources: resourcesOf(s).map(flat) }))).toEqual([
        { effect: 'Allow', actions: ['sns:Publish'], resources: ['*'] },
        { effect: 'Deny', actions: ['sns:Publish'], resources: ['arn:<AWS::Partition>:sns:*:*:*'] },
      ]);
    });
  });
}
