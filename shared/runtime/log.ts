/**
 * Structured JSON logs, one line each, through Powertools for AWS Lambda's
 * Logger (`@aws-lambda-powertools/logger`): it keeps the level (and honours
 * Lambda's Advanced Logging Controls); `WaypostLogFormatter` below shapes
 * every line. Phone numbers, tokens and secrets never reach a log: values
 * under sensitive keys are replaced, and anything shaped like a phone number
 * or a JWT inside a string is masked.
 */
import { LogFormatter, LogItem, Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';

/** A log level, least to most severe. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

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
let threshold: LogLevel = 'info';

/** Redirect log lines (the local runtime writes them to stderr; tests capture them), and set the level if given. */
export function setLogSink(next: LogSink, level?: LogLevel): void {
  sink = next;
  if (level) setLogLevel(level);
}

/**
 * Set the level below which lines are dropped, for every logger (default
 * `info`). The handlers' composition root sets it from config
 * (`WAYPOST_LOG_LEVEL`, `shared/runtime/config.ts`); nothing here reads the
 * environment.
 */
export function setLogLevel(level: LogLevel): void {
  threshold = level;
  shared?.setLogLevel(POWERTOOLS_LEVEL[level]);
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

const POWERTOOLS_LEVEL = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' } as const satisfies Record<LogLevel, string>;

/**
 * The one attribute a Waypost call hands to Powertools: the logger's base
 * fields and the call's fields, unmerged. Powertools copies the attributes it
 * is given by plain assignment and drops (with a warning line) the ones named
 * like its own keys (`level`, `message`, `service`, `timestamp`,
 * `sampling_rate`), so user-named fields travel inside this one object and
 * only the formatter takes them apart.
 */
const FIELDS_KEY = 'waypost:fields';

interface CallFields {
  readonly base: Record<string, unknown>;
  readonly fields: Record<string, unknown> | undefined;
}

function isCallFields(value: unknown): value is CallFields {
  return typeof value === 'object' && value !== null && Object.hasOwn(value, 'base') && Object.hasOwn(value, 'fields');
}

/**
 * Shapes each Powertools log item into Waypost's line:
 * `{time, level, msg, …base, …fields}`, `level` in lower case, `time` ISO
 * 8601 in UTC whatever `TZ` says, everything redacted (see `redact`; `msg`
 * too). Keys are never overwritten: the own keys (`OWN_KEYS`) win over
 * everything, then the logger's base fields, then the call's fields; a field
 * that loses is kept as `field_<key>` (`field_field_<key>` if that is taken
 * too, and so on). Attributes Powertools adds itself (its own warnings carry
 * none of ours) are added last, by the same rule.
 */
export class WaypostLogFormatter extends LogFormatter {
  override formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const line: Record<string, unknown> = {
      time: attributes.timestamp.toISOString(),
      level: attributes.logLevel.toLowerCase(),
      msg: redact(attributes.message),
    };
    const call = additional[FIELDS_KEY];
    if (isCallFields(call)) {
      // Redacted under their own names first: a renamed key (`to` as `field_to`) must not escape the sensitive-key rule.
      addFields(line, redact(call.base) as Record<string, unknown>);
      if (call.fields !== undefined) addFields(line, redact(call.fields) as Record<string, unknown>);
    }
    const rest = Object.entries(additional).filter(([key]) => key !== FIELDS_KEY);
    if (rest.length > 0) addFields(line, redact(Object.fromEntries(rest)) as Record<string, unknown>);
    return new LogItem({ attributes: line });
  }
}

/**
 * Powertools' Logger writing to Waypost's sink. Lines are printed as the
 * formatter built them: Powertools' own printing would drop keys whose value
 * is `null` or `''` and rebuild the line by plain assignment (a field named
 * `__proto__` would vanish), and would split lines between stdout and stderr.
 */
class SinkLogger extends PowertoolsLogger {
  protected override printLog(_level: number, log: LogItem): void {
    sink(JSON.stringify(log.getAttributes()));
  }
}

/** The one Powertools logger behind every Waypost logger, built on first use (not on import). */
let shared: SinkLogger | undefined;

function powertools(): SinkLogger {
  shared ??= new SinkLogger({ logLevel: POWERTOOLS_LEVEL[threshold], logFormatter: new WaypostLogFormatter() });
  return shared;
}

/**
 * A logger writing one JSON line per call to the sink (stdout by default),
 * dropping calls below the level (`setLogLevel`, default `info`; on Lambda,
 * an Advanced Logging Controls level wins, as Powertools decides).
 *
 * A line is `{time, level, msg, …base, …fields}` (`WaypostLogFormatter`).
 * Keys are never overwritten: the logger's own keys (`OWN_KEYS`: `time`,
 * `level`, `msg`) win over everything, then the logger's `base` (given here
 * or to `child`, such as `service` or `fn`; a parent's over its child's),
 * then the call's `fields`. A field that loses stays visible under
 * `field_<key>` (`field_field_<key>` if that is taken too, and so on):
 * `log.error('sms failed', {level: 2})` writes
 * `"level":"error", …, "field_level":2`, so a filter on `level` (such as a
 * CloudWatch metric filter on `$.level = "error"`) still sees the line.
 *
 * @param base fields written on every line of this logger and its children.
 */
export function createLogger(base: Record<string, unknown> = {}): Logger {
  const write = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    const call: CallFields = { base, fields };
    powertools()[level](msg, { [FIELDS_KEY]: call });
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
