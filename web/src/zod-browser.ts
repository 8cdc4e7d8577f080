/**
 * Bundling only (scripts/build-web.mjs maps `zod` here for the console).
 * `import { z } from 'zod'` makes esbuild keep zod's whole `z` namespace,
 * every error-message locale included (~260 KiB of the bundle); the shared
 * schemas need only these builders. A builder the shared schemas start using
 * must be added here, or the console fails at load (the browser tests catch it).
 */
import {
  array,
  boolean,
  coerce,
  discriminatedUnion,
  enum as zodEnum,
  int,
  iso,
  literal,
  nullable,
  number,
  object,
  optional,
  partialRecord,
  record,
  string,
  union,
  unknown,
} from 'zod/v4';

export const z = {
  array,
  boolean,
  coerce,
  discriminatedUnion,
  enum: zodEnum,
  int,
  iso,
  literal,
  nullable,
  number,
  object,
  optional,
  partialRecord,
  record,
  string,
  union,
  unknown,
};
