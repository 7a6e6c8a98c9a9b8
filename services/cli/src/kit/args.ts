/** A command line problem: exit code 2, the command's usage on stderr. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A command that ran and failed (a service refused, a dependency is down): exit code 1. */
export class CommandFailed extends Error {
  override readonly name = 'CommandFailed';
}

export interface OptionSpec {
  name: string;
  /** Placeholder of its value in the help; absent for a flag. */
  value?: string;
  /** May be given several times (its values are collected). */
  repeat?: boolean;
  help: string;
}

export interface ParsedArgs {
  positionals: string[];
  /** A flag is `true`; a valued option its last value; a repeated one every value. */
  options: Map<string, string | true | string[]>;
}

/**
 * `--name value`, `--name=value` and flags, checked against the command's options: an unknown
 * option, a missing value or a value given to a flag is a usage error. `--` ends the options.
 */
export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[]): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const positionals: string[] = [];
  const options = new Map<string, string | true | string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown option --${name}`);
    if (spec.value === undefined) {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      options.set(name, true);
      continue;
    }
    const value = eq !== -1 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value (${spec.value})`);
    if (spec.repeat) {
      const previous = options.get(name);
      options.set(name, [...(Array.isArray(previous) ? previous : []), value]);
    } else options.set(name, value);
  }
  return { positionals, options };
}

/** Typed reads of parsed arguments, with usage errors that name the option. */
export class Args {
  constructor(private readonly parsed: ParsedArgs) {}

  get positionals(): readonly string[] {
    return this.parsed.positionals;
  }

  flag(name: string): boolean {
    return this.parsed.options.get(name) === true;
  }

  string(name: string): string | undefined {
    const v = this.parsed.options.get(name);
    return typeof v === 'string' ? v : undefined;
  }

  list(name: string): string[] {
    const v = this.parsed.options.get(name);
    return Array.isArray(v) ? v : [];
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const v = this.string(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) {
      throw new UsageError(`--${name} must be an integer from ${min} to ${max} (got "${v}")`);
    }
    return n;
  }

  json(name: string): unknown {
    const v = this.string(name);
    if (v === undefined) return undefined;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      throw new UsageError(`--${name} must be JSON (got ${JSON.stringify(v.slice(0, 40))})`);
    }
  }
}
