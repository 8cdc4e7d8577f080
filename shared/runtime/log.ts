/**
 * Structured JSON logs, one line each. Phone numbers, tokens and secrets never
 * reach a log: values under sensitive keys are replaced, and anything shaped
 * like a phone number or a JWT inside a string is masked.
 */

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const SENSITIVE_KEY = /phone|token|secret|authorization|password|^to$/i;
/** Phone numbers as Waypost holds them: E.164, perhaps with separators. Plain digit runs (times, ids) stay. */
const PHONE = /\+\d[\d\s().-]{5,18}\d/g;
const JWT = /eyJ[\w-]+\.[\w-]+\.[\w-]*/g;

/** A copy of `value` safe to log. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[deep]';
  if (typeof value === 'string') return value.replace(JWT, '[jwt]').replace(PHONE, '[phone]');
  if (value instanceof Error) {
    const stack = value.stack?.split('\n').slice(0, 6).join('\n');
    return { name: value.name, message: redact(value.message, depth + 1), ...(stack !== undefined && { stack: redact(stack, depth + 1) }) };
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, SENSITIVE_KEY.test(k) ? '[redacted]' : redact(v, depth + 1)]),
    );
  }
  return value;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export type LogSink = (line: string) => void;

let sink: LogSink = (line) => process.stdout.write(`${line}\n`);
let threshold: Level = (['debug', 'info', 'warn', 'error'] as const).find((l) => l === process.env.WAYPOST_LOG_LEVEL) ?? 'info';

/** Redirect log lines (the local runtime quiets them; tests capture them). */
export function setLogSink(next: LogSink, level?: Level): void {
  sink = next;
  if (level) threshold = level;
}

/** The keys every line has, written by the logger itself: `time` (ISO 8601, UTC), `level` and `msg`. */
export const OWN_KEYS: readonly string[] = ['time', 'level', 'msg'];

/** The name a field takes when its own name is taken: `field_<key>` (prefixed again while that is taken too). */
function freeKey(line: Record<string, unknown>, key: string): string {
  let name = key;
  while (Object.hasOwn(line, name)) name = `field_${name}`;
  return name;
}

/**
 * Add `fields` (already redacted) to `line`, never replacing a key it holds:
 * a field whose name is taken is kept under `field_<key>` instead. Fields
 * whose names are free go first, so they keep their names whatever the order.
 */
function addFields(line: Record<string, unknown>, fields: Record<string, unknown>): void {
  const entries = Object.entries(fields);
  const taken = entries.filter(([key]) => Object.hasOwn(line, key));
  for (const [key, value] of [...entries.filter(([key]) => !Object.hasOwn(line, key)), ...taken]) {
    Object.defineProperty(line, freeKey(line, key), { value, enumerable: true, writable: true, configurable: true });
  }
}

/**
 * A logger writing one JSON line per call to the sink (stdout by default),
 * dropping calls below the threshold (`WAYPOST_LOG_LEVEL`, default `info`).
 *
 * A line is `{time, level, msg, …base, …fields}`, everything redacted (see
 * `redact`; `msg` too). Keys are never overwritten: the logger's own keys
 * (`OWN_KEYS`: `time`, `level`, `msg`) win over everything, then the
 * logger's `base` (given here or to `child`, such as `service` or `fn`; a
 * parent's over its child's), then the call's `fields`. A field that loses
 * stays visible under `field_<key>` (`field_field_<key>` if that is taken
 * too, and so on): `log.error('sms failed', {level: 2})` writes
 * `"level":"error", …, "field_level":2`, so a filter on `level` (such as a
 * CloudWatch metric filter on `$.level = "error"`) still sees the line.
 *
 * @param base fields written on every line of this logger and its children.
 */
export function createLogger(base: Record<string, unknown> = {}): Logger {
  const write = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < ORDER[threshold]) return;
    // Redacted under their own names first: a renamed key (`to` as `field_to`) must not escape the sensitive-key rule.
    const line: Record<string, unknown> = { time: new Date().toISOString(), level, msg: redact(msg) };
    addFields(line, redact(base) as Record<string, unknown>);
    if (fields !== undefined) addFields(line, redact(fields) as Record<string, unknown>);
    sink(JSON.stringify(line));
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => {
      const merged = { ...(redact(base) as Record<string, unknown>) };
      addFields(merged, redact(fields) as Record<string, unknown>);
      return createLogger(merged);
    },
  };
}
