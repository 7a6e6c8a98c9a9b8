import type { Args, OptionSpec } from './args';

/** What a command prints: `text` for people, `json` for scripts (`--json`). */
export interface CommandOutput {
  text: string;
  json: unknown;
}

export interface Command {
  /** As typed: `send`, `dlq tail`. */
  name: string;
  /** `<userId>` and the like, for the usage line. */
  operands: string;
  summary: string;
  /** Paragraphs after the usage line in `--help`. */
  details: string;
  options: readonly OptionSpec[];
  /** Exactly this many positionals, or a usage error. */
  positionals: number;
  run(args: Args): Promise<CommandOutput>;
}

/** Options every command has. */
export const COMMON_OPTIONS: readonly OptionSpec[] = [
  { name: 'json', help: 'print one JSON document instead of text' },
  { name: 'help', help: 'print this help' },
];

export function helpOf(command: Command): string {
  const options = [...command.options, ...COMMON_OPTIONS];
  const width = Math.max(...options.map((o) => o.name.length + (o.value ? o.value.length + 1 : 0)));
  const lines = options.map((o) => {
    const left = o.value ? `${o.name} ${o.value}` : o.name;
    return `  --${left.padEnd(width)}  ${o.help}${o.repeat ? ' (repeatable)' : ''}`;
  });
  return [
    `usage: notify ${command.name}${command.operands ? ` ${command.operands}` : ''} [options]`,
    '',
    command.summary,
    ...(command.details ? ['', command.details] : []),
    '',
    'options:',
    ...lines,
    '',
    EXIT_CODES_HELP,
  ].join('\n');
}

export const EXIT_CODES_HELP = 'exit codes: 0 done, 1 failed (one line on stderr), 2 usage error';
