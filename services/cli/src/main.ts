import { ConfigError } from '@notify/config';
import { dlqReplayCommand, dlqTailCommand } from './commands/dlq';
import { inboxCommand } from './commands/inbox';
import { migrateCommand, retentionCommand } from './commands/maintenance';
import { nodesCommand } from './commands/nodes';
import { publishCommand, sendCommand } from './commands/send';
import { Args, parseArgs, UsageError } from './kit/args';
import { COMMON_OPTIONS, EXIT_CODES_HELP, helpOf, type Command } from './kit/command';

/** `notify`: the operator's command line (docs/operations.md, "The notify command"). */
const COMMANDS: readonly Command[] = [
  sendCommand,
  publishCommand,
  inboxCommand,
  nodesCommand,
  migrateCommand,
  retentionCommand,
  dlqTailCommand,
  dlqReplayCommand,
];

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => `${c.name} ${c.operands}`.length));
  return [
    'usage: notify <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${`${c.name} ${c.operands}`.padEnd(width)}  ${c.summary}`),
    '',
    "'notify <command> --help' describes a command and its options. Every command takes --json.",
    'Services are found through the variables they read: NOTIFY_DATABASE_URL, NOTIFY_AMQP_URL, and',
    'NOTIFY_INGEST_URL with NOTIFY_API_KEY for send and publish (docs/configuration.md).',
    '',
    EXIT_CODES_HELP,
  ].join('\n');
}

/** The command the words name (`dlq tail` is two), and the arguments after them. */
function find(argv: readonly string[]): { command: Command; rest: string[] } | undefined {
  for (const command of COMMANDS) {
    const words = command.name.split(' ');
    if (words.every((w, i) => argv[i] === w)) return { command, rest: argv.slice(words.length) };
  }
  return undefined;
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help') {
    const out = argv.length === 0 ? process.stderr : process.stdout;
    out.write(`${overview()}\n`);
    return argv.length === 0 ? EXIT_USAGE : EXIT_OK;
  }
  const found = find(argv);
  if (!found) {
    const group = COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `)).map((c) => `'${c.name}'`);
    const hint = group.length > 0 ? `: did you mean ${group.join(' or ')}?` : " (see 'notify --help')";
    process.stderr.write(`notify: unknown command '${argv.slice(0, 2).join(' ')}'${hint}\n`);
    return EXIT_USAGE;
  }
  const { command, rest } = found;
  const fail = (code: number, message: string): number => {
    process.stderr.write(`notify ${command.name}: ${message}\n`);
    return code;
  };
  let args: Args;
  try {
    args = new Args(parseArgs(rest, [...command.options, ...COMMON_OPTIONS]));
    if (args.flag('help')) {
      process.stdout.write(`${helpOf(command)}\n`);
      return EXIT_OK;
    }
    if (args.positionals.length !== command.positionals) {
      const expected = command.positionals === 0 ? 'no operand' : command.operands;
      throw new UsageError(
        `expects ${expected} (got ${args.positionals.length === 0 ? 'none' : args.positionals.join(' ')})`,
      );
    }
  } catch (err) {
    if (err instanceof UsageError)
      return fail(EXIT_USAGE, `${err.message} (see 'notify ${command.name} --help')`);
    throw err;
  }
  try {
    const output = await command.run(args);
    process.stdout.write(args.flag('json') ? `${JSON.stringify(output.json)}\n` : `${output.text}\n`);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof UsageError)
      return fail(EXIT_USAGE, `${err.message} (see 'notify ${command.name} --help')`);
    const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
    return fail(EXIT_FAILED, message.split('\n')[0] ?? message);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`notify: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(EXIT_FAILED);
  },
);
