export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

/**
 * Structured JSON logs, one object per line on stdout. Deliberately tiny: it is on the gateway's
 * process but never on its per-message path.
 */
export class JsonLogger {
  private readonly minRank: number;

  constructor(
    private readonly service: string,
    private readonly base: LogFields = {},
    private readonly level: LogLevel = (process.env.NOTIFY_LOG_LEVEL as LogLevel | undefined) ?? 'info',
  ) {
    this.minRank = LEVEL_RANK[level] ?? LEVEL_RANK.info;
  }

  child(fields: LogFields): JsonLogger {
    return new JsonLogger(this.service, { ...this.base, ...fields }, this.level);
  }

  debug(msg: string, fields?: LogFields): void {
    this.write('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.write('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.write('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.write('error', msg, fields);
  }

  private write(level: LogLevel, msg: string, fields?: LogFields): void {
    if (LEVEL_RANK[level] < this.minRank) return;
    const line = {
      time: new Date().toISOString(),
      level,
      service: this.service,
      msg,
      ...this.base,
      ...fields,
    };
    process.stdout.write(`${JSON.stringify(line, errorReplacer)}\n`);
  }
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}
