import { ConfigError } from './config-error';

/**
 * Runs a config loader; on a ConfigError prints its one line to stderr and exits 1,
 * as the operations contract asks. Other errors propagate: they are bugs, not bad config.
 */
export function loadConfigOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
