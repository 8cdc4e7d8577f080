/**
 * The text primitives every wire schema is built from (CONTRACT §5: ids are
 * non-empty strings of at most 128 characters). A module of their own so
 * that the rooms registry and the schemas can both use them.
 */
import { z } from 'zod';

/**
 * A lone UTF-16 surrogate: text that is not well-formed Unicode. It cannot be
 * stored as it was sent (DynamoDB keeps UTF-8, where it becomes U+FFFD), so
 * two different ids would become one and a text would change.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A string a client sends: well-formed Unicode only (refused otherwise, naming the field). */
export function clientText(): z.ZodString {
  return z.string().refine((s) => !LONE_SURROGATE.test(s), 'must be well-formed Unicode (no lone surrogates)');
}

/** Ids: non-empty strings of at most 128 characters (CONTRACT §5), well-formed Unicode. */
export const idSchema = clientText().min(1, 'must not be empty').max(128, 'must be at most 128 characters');

