/**
 * One builder for DynamoDB update expressions: `{ set, remove, add }` (and a
 * condition) in, `UpdateExpression`, `ConditionExpression`,
 * `ExpressionAttributeNames` and `ExpressionAttributeValues` out. Every
 * attribute name goes through a placeholder (`#n0`, `#n1`, …; one per
 * distinct name), so reserved words (`state`, `level`, `status`) and names
 * taken from users (a read mark keyed by a sub such as `__proto__` or
 * `a.b`) are safe; every value through its own placeholder (`:v0`, …). Only
 * placeholders that are used are defined (DynamoDB refuses unused ones), and
 * an empty map is left out (DynamoDB refuses those too).
 *
 * Values are plain JavaScript, as the DocumentClient marshals them; for the
 * low-level client, `marshall` the values map.
 */

/** An attribute: a top-level name, or a path of names into maps (`['readMarks', sub]`). */
export type AttributePath = string | readonly string[];

/** Names and values for a condition written beside an update, so both share one set of placeholders. */
export interface Placeholders {
  /** The placeholder of an attribute (`#n0`, or `#n0.#n1` for a path). */
  name(path: AttributePath): string;
  /** A fresh placeholder for a value (`:v0`). */
  value(value: unknown): string;
}

export interface UpdateSpec {
  /** `SET a = v`: top-level attributes by name, or `[path, value]` pairs (for paths into maps). In this order. */
  readonly set?: Readonly<Record<string, unknown>> | readonly (readonly [AttributePath, unknown])[];
  /** `REMOVE a`. */
  readonly remove?: readonly AttributePath[];
  /** `ADD a v`: a number added to a number (absent counts as 0), or a set merged into a set. */
  readonly add?: Readonly<Record<string, unknown>>;
  /** The `ConditionExpression`, written with the same placeholders. */
  readonly condition?: (p: Placeholders) => string;
}

/** What `buildUpdate` gives: spread it into an `UpdateItem` (or a transaction's `Update`). */
export interface BuiltUpdate {
  readonly UpdateExpression: string;
  readonly ConditionExpression?: string;
  readonly ExpressionAttributeNames?: Record<string, string>;
  readonly ExpressionAttributeValues?: Record<string, unknown>;
}

/** What `buildCondition` gives: spread it into a command that takes a condition. */
export interface BuiltCondition {
  readonly ConditionExpression: string;
  readonly ExpressionAttributeNames?: Record<string, string>;
  readonly ExpressionAttributeValues?: Record<string, unknown>;
}

class PlaceholderSet implements Placeholders {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private readonly byName = new Map<string, string>();
  private nextValue = 0;

  name(path: AttributePath): string {
    const parts = typeof path === 'string' ? [path] : path;
    if (parts.length === 0) throw new RangeError('An attribute path needs at least one name.');
    return parts.map((part) => this.one(part)).join('.');
  }

  value(value: unknown): string {
    const placeholder = `:v${this.nextValue++}`;
    this.values[placeholder] = value;
    return placeholder;
  }

  private one(part: string): string {
    let placeholder = this.byName.get(part);
    if (placeholder === undefined) {
      placeholder = `#n${this.byName.size}`;
      this.byName.set(part, placeholder);
      this.names[placeholder] = part;
    }
    return placeholder;
  }

  /** The maps, each left out when empty. */
  maps(): Pick<BuiltUpdate, 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> {
    return {
      ...(this.byName.size > 0 && { ExpressionAttributeNames: this.names }),
      ...(this.nextValue > 0 && { ExpressionAttributeValues: this.values }),
    };
  }
}

/**
 * The update expression of `spec`.
 *
 * @throws RangeError when `spec` changes nothing (DynamoDB refuses an empty
 *   update expression) or names an empty path.
 */
export function buildUpdate(spec: UpdateSpec): BuiltUpdate {
  const p = new PlaceholderSet();
  const entries: (readonly [AttributePath, unknown])[] = Array.isArray(spec.set)
    ? [...(spec.set as readonly (readonly [AttributePath, unknown])[])]
    : Object.entries(spec.set ?? {});
  const clauses: string[] = [];
  if (entries.length > 0) clauses.push(`SET ${entries.map(([path, value]) => `${p.name(path)} = ${p.value(value)}`).join(', ')}`);
  const removes = spec.remove ?? [];
  if (removes.length > 0) clauses.push(`REMOVE ${removes.map((path) => p.name(path)).join(', ')}`);
  const adds = Object.entries(spec.add ?? {});
  if (adds.length > 0) clauses.push(`ADD ${adds.map(([name, value]) => `${p.name(name)} ${p.value(value)}`).join(', ')}`);
  if (clauses.length === 0) throw new RangeError('An update must set, remove or add at least one attribute.');
  const condition = spec.condition?.(p);
  return {
    UpdateExpression: clauses.join(' '),
    ...(condition !== undefined && { ConditionExpression: condition }),
    ...p.maps(),
  };
}

/** A condition alone (for a `Put`, `Delete` or `ConditionCheck`), with its own placeholders. */
export function buildCondition(condition: (p: Placeholders) => string): BuiltCondition {
  const p = new PlaceholderSet();
  return { ConditionExpression: condition(p), ...p.maps() };
}
