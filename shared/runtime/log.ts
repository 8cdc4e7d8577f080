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

export function createLogger(base: Record<string, unknown> = {}): Logger {
  const write = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < ORDER[threshold]) return;
    sink(JSON.stringify({ time: new Date().toISOString(), level, msg, ...(redact({ ...base, ...fields }) as object) }));
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ ...base, ...fields }),
  };
}
