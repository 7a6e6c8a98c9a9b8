/** The levels NOTIFY_LOG_LEVEL accepts, lowest first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/**
 * The level of this process. An unset or unknown value gives `info` here; the services refuse an
 * unknown one at start through their config loaders, with one config error line.
 */
export function levelFromEnv(env: Record<string, string | undefined> = process.env): LogLevel {
  const value = env.NOTIFY_LOG_LEVEL?.trim().toLowerCase() ?? '';
  return isLogLevel(value) ? value : 'info';
}
