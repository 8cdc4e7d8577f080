/** Checks a reply the server sent against the protocol table (shared/domain/protocol.ts). */
import { expect } from 'vitest';
import { z } from 'zod';
import { ACTIONS, type Action } from '../../shared/domain/protocol';

/**
 * `reply` is an ack of `action` whose own fields (all but `type` and
 * `reqId`) parse with the table's ack schema made strict: no field the
 * table does not name, none it names missing.
 */
export function expectTableAck(action: Action, reply: Record<string, unknown>): void {
  expect(reply).toMatchObject({ type: 'ack' });
  const { type: _type, reqId: _reqId, ...fields } = reply;
  const schema = ACTIONS[action].ack;
  expect(schema).toBeInstanceOf(z.ZodObject);
  const strict = (schema as z.ZodObject).strict().safeParse(fields);
  expect(strict.success ? [] : strict.error.issues).toEqual([]);
}
