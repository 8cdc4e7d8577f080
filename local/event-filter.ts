/**
 * Lambda's event filtering, for the local stream pump: the same filter
 * patterns an event source mapping's `FilterCriteria` carries (CDK's
 * `FilterCriteria.filter(pattern)`), matched against a stream record as Lambda
 * matches them before it invokes a function. The rules are those of the Lambda
 * developer guide, "Control which events Lambda sends to your function"
 * (comparison operators): equals (a string, number, boolean or null), empty
 * (`""`), `prefix`, `suffix`, `equals-ignore-case`, `anything-but`, `numeric`
 * and `exists`; values in one list are OR'd, fields are AND'ed, and a record
 * passes a mapping's criteria when it matches any one of its patterns.
 */

/** A scalar a filter can equal. */
export type FilterScalar = string | number | boolean | null;

/** One comparison in a field's list. */
export type FilterRule =
  | FilterScalar
  | { readonly prefix: string }
  | { readonly suffix: string }
  | { readonly 'equals-ignore-case': string }
  | { readonly 'anything-but': FilterScalar | readonly FilterScalar[] }
  | { readonly numeric: readonly (string | number)[] }
  | { readonly exists: boolean };

/** A filter pattern: nested fields of the record, each ending in a list of rules. */
export interface FilterPattern {
  readonly [field: string]: FilterPattern | readonly FilterRule[];
}

/**
 * Raised for a pattern this matcher does not know (an operator Lambda has
 * and this local stand-in does not, or a malformed rule): refused when the
 * consumer is registered, never silently matched.
 */
export class UnsupportedFilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedFilterError';
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const NUMERIC_OPERATORS = new Set(['=', '<', '<=', '>', '>=']);

function numericMatches(value: unknown, spec: readonly (string | number)[]): boolean {
  if (typeof value !== 'number') return false;
  for (let i = 0; i + 1 < spec.length; i += 2) {
    const op = spec[i];
    const bound = spec[i + 1] as number;
    const ok = op === '=' ? value === bound : op === '<' ? value < bound : op === '<=' ? value <= bound : op === '>' ? value > bound : value >= bound;
    if (!ok) return false;
  }
  return true;
}

/** Whether one present scalar value satisfies one rule. */
function ruleMatches(value: unknown, rule: FilterRule): boolean {
  if (!isObject(rule)) return value === rule;
  if ('exists' in rule) return rule.exists;
  if ('prefix' in rule) return typeof value === 'string' && value.startsWith(rule.prefix);
  if ('suffix' in rule) return typeof value === 'string' && value.endsWith(rule.suffix);
  if ('equals-ignore-case' in rule) return typeof value === 'string' && value.toLowerCase() === rule['equals-ignore-case'].toLowerCase();
  if ('anything-but' in rule) {
    const refused = rule['anything-but'];
    return Array.isArray(refused) ? !refused.includes(value) : value !== refused;
  }
  return numericMatches(value, rule.numeric);
}

function rulesMatch(value: unknown, rules: readonly FilterRule[]): boolean {
  if (value === undefined) return rules.some((r) => isObject(r) && 'exists' in r && !r.exists);
  // A list in the record matches when any of its elements does.
  const values = Array.isArray(value) ? value : [value];
  return rules.some((rule) => values.some((v) => ruleMatches(v, rule)));
}

/**
 * Whether `value` (a stream record, or a part of one) matches `pattern`:
 * every field of the pattern must match; a field missing from the record
 * matches only `{ exists: false }`.
 */
export function matchesPattern(value: unknown, pattern: FilterPattern): boolean {
  return Object.entries(pattern).every(([field, sub]) => {
    const inner = isObject(value) ? value[field] : undefined;
    if (Array.isArray(sub)) return rulesMatch(inner, sub as readonly FilterRule[]);
    const nested = sub as FilterPattern;
    if (Array.isArray(inner)) return inner.some((element) => matchesPattern(element, nested));
    return matchesPattern(inner, nested);
  });
}

/**
 * Whether a record passes a mapping's filter criteria, where one matching
 * pattern is enough; no patterns at all lets every record through, as a
 * mapping without `FilterCriteria` does.
 */
export function passesFilters(record: unknown, patterns: readonly FilterPattern[]): boolean {
  return patterns.length === 0 || patterns.some((p) => matchesPattern(record, p));
}

function checkRule(rule: unknown, path: string): void {
  if (rule === null || typeof rule === 'string' || typeof rule === 'number' || typeof rule === 'boolean') return;
  if (!isObject(rule)) throw new UnsupportedFilterError(`${path}: a rule is a string, number, boolean, null or an operator object`);
  const ops = Object.keys(rule);
  const op = ops[0];
  const arg = op === undefined ? undefined : rule[op];
  if (ops.length !== 1) throw new UnsupportedFilterError(`${path}: an operator object has exactly one operator`);
  const ok =
    ((op === 'prefix' || op === 'suffix' || op === 'equals-ignore-case') && typeof arg === 'string') ||
    (op === 'exists' && typeof arg === 'boolean') ||
    (op === 'anything-but' &&
      (Array.isArray(arg) ? arg.every((a) => a === null || ['string', 'number', 'boolean'].includes(typeof a)) : arg === null || ['string', 'number', 'boolean'].includes(typeof arg))) ||
    (op === 'numeric' &&
      Array.isArray(arg) &&
      arg.length >= 2 &&
      arg.length % 2 === 0 &&
      arg.every((a, i) => (i % 2 === 0 ? typeof a === 'string' && NUMERIC_OPERATORS.has(a) : typeof a === 'number')));
  if (!ok) throw new UnsupportedFilterError(`${path}: unsupported filter rule ${JSON.stringify(rule)}`);
}

/**
 * Check that a pattern uses only the rules this matcher knows.
 *
 * @throws UnsupportedFilterError naming the field path of the first rule it does not know.
 */
export function assertSupportedPattern(pattern: FilterPattern, path = '$'): void {
  for (const [field, sub] of Object.entries(pattern)) {
    const at = `${path}.${field}`;
    if (Array.isArray(sub)) {
      if (sub.length === 0) throw new UnsupportedFilterError(`${at}: a field's rule list is never empty`);
      for (const rule of sub) checkRule(rule, at);
    } else if (isObject(sub)) assertSupportedPattern(sub, at);
    else throw new UnsupportedFilterError(`${at}: a field holds a list of rules or a nested pattern`);
  }
}
