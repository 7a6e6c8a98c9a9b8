import pino, { type Logger, type LoggerOptions } from 'pino';
import { levelFromEnv, type LogLevel } from './levels';

/**
 * Paths a log line must never show, whatever a call site passes: tokens and credentials are kept
 * out by the call sites first (security.md, "Logs"); this is the second fence.
 */
const REDACTED_PATHS = [
  'authorization',
  'token',
  'password',
  'apiKey',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
];

/**
 * One JSON shape for every process: `level` as its name, `time` as ISO-8601, then the bound fields
 * (`service`, `node`, `component`), the call's fields and `msg`. Errors under `err` or `error` keep
 * their name, message and stack.
 */
export function pinoOptions(level: LogLevel): LoggerOptions {
  return {
    level,
    base: undefined,
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
}

let root: Logger | undefined;

/**
 * The process's one pino logger, writing synchronously to stdout (a line is out before a
 * `process.exit`), at NOTIFY_LOG_LEVEL.
 */
export function rootLogger(): Logger {
  root ??= pino(pinoOptions(levelFromEnv()), pino.destination({ dest: 1, sync: true }));
  return root;
}
