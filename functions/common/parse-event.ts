/**
 * A middy middleware that parses the incoming event with a zod schema, so the
 * handler gets a typed event or is never called.
 */
import type { MiddlewareObj } from '@middy/core';
import type { z } from 'zod';

export function parseEvent<S extends z.ZodType>(schema: S): MiddlewareObj<z.infer<S>> {
  return {
    name: 'parse-event',
    before: (request) => {
      request.event = schema.parse(request.event);
    },
  };
}
