/**
 * `Logger` in memory: keeps each line (level, message, fields) instead of
 * writing it, so unit tests stay quiet and can assert on what was logged.
 * Unlike the real logger it redacts nothing: assert that secrets stay out.
 */
import type { LogLevel, Logger } from '../../../shared/runtime/log';

export interface LoggedLine {
  readonly level: LogLevel;
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

export class RecordingLogger implements Logger {
  /** @param lines shared with the children this logger makes */
  constructor(
    readonly lines: LoggedLine[] = [],
    private readonly base: Record<string, unknown> = {},
  ) {}

  private write(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level, msg, fields: { ...this.base, ...fields } });
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.write('debug', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.write('info', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.write('warn', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.write('error', msg, fields);
  }
  child(fields: Record<string, unknown>): Logger {
    return new RecordingLogger(this.lines, { ...this.base, ...fields });
  }
}
