import { hostname } from 'node:os';
import { ConfigError } from './config-error';

type Env = Record<string, string | undefined>;

/**
 * Reads typed values out of an environment, so that every variable is validated once, at start-up,
 * with an error that names the variable and says what was expected.
 */
export class EnvReader {
  constructor(private readonly env: Env = process.env) {}

  get production(): boolean {
    return this.env.NODE_ENV === 'production';
  }

  private raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  optionalString(name: string): string | undefined {
    return this.raw(name);
  }

  /**
   * A value every production deployment must set; local development gets `devFallback`. The dev value
   * is public (README, `npm start`), so production refuses it even when it is set explicitly.
   */
  secret(name: string, devFallback: string): string {
    const value = this.raw(name);
    if (this.production) {
      if (value === undefined) throw new ConfigError(name, 'is required when NODE_ENV=production');
      this.refuseDevValue(name, [value], devFallback);
    }
    return value ?? devFallback;
  }

  /** In production, refuses any of `values` equal to the public development value `devValue`. */
  refuseDevValue(name: string, values: readonly string[], devValue: string): void {
    if (this.production && values.includes(devValue)) {
      throw new ConfigError(
        name,
        'is the public development value, refused when NODE_ENV=production: set a secret of your own',
      );
    }
  }

  url(name: string, fallback: string, protocols: readonly string[]): string {
    const value = this.string(name, fallback);
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new ConfigError(name, `must be a URL (got "${redact(value)}")`);
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new ConfigError(name, `must use ${protocols.join(' or ')} (got "${parsed.protocol}")`);
    }
    return value;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!/^-?\d+$/.test(value)) throw new ConfigError(name, `must be an integer (got "${value}")`);
    const n = Number(value);
    if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max} (got ${n})`);
    return n;
  }

  port(name: string, fallback: number): number {
    return this.int(name, fallback, 0, 65535);
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(value)) return true;
    if (['0', 'false', 'no', 'off'].includes(value)) return false;
    throw new ConfigError(name, `must be true or false (got "${value}")`);
  }

  /** One of `values` (case-insensitive), or `fallback` when unset. */
  oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    const found = values.find((v) => v === value);
    if (found === undefined)
      throw new ConfigError(name, `must be one of ${values.join(', ')} (got "${value}")`);
    return found;
  }

  list(name: string, fallback: readonly string[]): string[] {
    const value = this.raw(name);
    if (value === undefined) return [...fallback];
    return value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0);
  }

  /** `NOTIFY_NODE_ID`: host name + port unless set. */
  nodeId(name: string, port: number): string {
    return this.string(name, `${hostname()}:${port}`);
  }
}

/** Keeps passwords in URLs out of error lines and logs. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@/]+)@/, '//$1:***@');
}
