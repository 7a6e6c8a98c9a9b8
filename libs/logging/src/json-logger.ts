import type { Logger } from 'pino';
import { rootLogger } from './root-logger';
import type { LogLevel } from './levels';

export type LogFields = Record<string, unknown>;

/**
 * Structured JSON logs, one object per line on stdout, through pino (root-logger.ts). The interface
 * predates pino and stays: `log.info(msg, fields)`. Lines about one request or message name its
 * `correlationId` in their fields.
 */
export class JsonLogger {
  private readonly pino: Logger;

  /** `service` names the process in every line; a child (`parent` given) passes '' to keep its parent's. */
  constructor(service: string, base: LogFields = {}, level?: LogLevel, parent: Logger = rootLogger()) {
    const bindings = service === '' ? base : { service, ...base };
    this.pino = parent.child(bindings, level === undefined ? undefined : { level });
  }

  child(fields: LogFields): JsonLogger {
    return new JsonLogger('', fields, undefined, this.pino);
  }

  /** The pino logger underneath, for libraries that take one (nestjs-pino in ingest). */
  get pinoLogger(): Logger {
    return this.pino;
  }

  /** For per-message lines on hot paths: build their fields only when they would be written. */
  get debugEnabled(): boolean {
    return this.pino.isLevelEnabled('debug');
  }

  debug(msg: string, fields?: LogFields): void {
    if (this.pino.isLevelEnabled('debug')) this.pino.debug(fields ?? {}, msg);
  }
  info(msg: string, fields?: LogFields): void {
    this.pino.info(fields ?? {}, msg);
  }
  warn(msg: string, fields?: LogFields): void {
    this.pino.warn(fields ?? {}, msg);
  }
  error(msg: string, fields?: LogFields): void {
    this.pino.error(fields ?? {}, msg);
  }
}
