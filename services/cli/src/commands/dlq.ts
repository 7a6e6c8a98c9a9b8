import type { Channel, ConfirmChannel, GetMessage } from 'amqplib';
import { DROPPED_HEADER, ERROR_HEADER, Topology } from '@notify/amqp';
import { CommandFailed, type Args } from '../kit/args';
import type { Command, CommandOutput } from '../kit/command';
import { withBroker } from '../kit/connections';
import { table } from '../kit/output';

/** Headers DeadLetterPublisher adds; a replayed message goes back without them. */
const ROUTING_KEY_HEADER = 'x-notify-routing-key';
const REFUSED_AT_HEADER = 'x-notify-refused-at';
const REPLAYED_HEADER = 'x-notify-replayed';

interface DeadLetter {
  routingKey: string;
  reason: string;
  refusedAt: string | null;
  messageId: string | null;
  body: string;
}

function headersOf(m: GetMessage): Record<string, unknown> {
  return (m.properties.headers ?? {}) as Record<string, unknown>;
}

/** The key it was published with: ours (ingest refused it) or the broker's x-death (over the delivery limit). */
function originalRoutingKey(m: GetMessage): string {
  const h = headersOf(m);
  if (typeof h[ROUTING_KEY_HEADER] === 'string') return h[ROUTING_KEY_HEADER];
  const death = (h['x-death'] as { 'routing-keys'?: string[] }[] | undefined)?.[0];
  return death?.['routing-keys']?.[0] ?? m.fields.routingKey;
}

function describe(m: GetMessage): DeadLetter {
  const h = headersOf(m);
  const byBroker = Array.isArray(h['x-death']) ? 'dead-lettered by the broker (delivery limit)' : 'unknown';
  return {
    routingKey: originalRoutingKey(m),
    reason: typeof h[ERROR_HEADER] === 'string' ? h[ERROR_HEADER] : byBroker,
    refusedAt: typeof h[REFUSED_AT_HEADER] === 'string' ? h[REFUSED_AT_HEADER] : null,
    messageId: typeof m.properties.messageId === 'string' ? m.properties.messageId : null,
    body: m.content.toString('utf8'),
  };
}

async function queueLength(channel: Channel): Promise<number> {
  try {
    return (await channel.checkQueue(Topology.invalidQueue)).messageCount;
  } catch (err) {
    throw new CommandFailed(
      `${Topology.invalidQueue} is not there (${(err as Error).message}); has ingest run?`,
    );
  }
}

const LIMIT_OPTION = { name: 'limit', value: '<n>', help: '' };

export const dlqTailCommand: Command = {
  name: 'dlq tail',
  operands: '',
  summary: `Show the messages in ${Topology.invalidQueue} with the reason ingest refused each (${ERROR_HEADER}), oldest first.`,
  details:
    'A bounded peek: the messages are fetched unacknowledged and returned to the queue, in their order, when the command closes its channel; none is lost. On RabbitMQ 4, each peek counts as a delivery against the queue\'s delivery limit (default 20): see docs/operations.md, "Dead letters".',
  positionals: 0,
  options: [{ ...LIMIT_OPTION, help: 'messages to show (default 20, at most 1000)' }],
  async run(args: Args): Promise<CommandOutput> {
    const limit = args.int('limit', 20, 1, 1000);
    const { total, messages } = await withBroker(async (connection) => {
      const channel = await connection.createChannel();
      const total = await queueLength(channel);
      const messages: DeadLetter[] = [];
      // Bounded by the count seen at the start, so a message returned meanwhile is not shown twice.
      for (let i = 0; i < Math.min(limit, total); i++) {
        const m = await channel.get(Topology.invalidQueue, { noAck: false });
        if (m === false) break;
        messages.push(describe(m));
      }
      // Closing the channel hands every unacknowledged message back to the queue.
      await channel.close();
      return { total, messages };
    });
    const text = [
      `${total} message(s) in ${Topology.invalidQueue}${messages.length < total ? `, showing the first ${messages.length}` : ''}`,
      ...(messages.length > 0
        ? [
            table(
              ['routing key', 'refused at', 'reason', 'body'],
              messages.map((m) => [m.routingKey, m.refusedAt, m.reason, excerpt(m.body)]),
            ),
          ]
        : []),
    ].join('\n');
    return { json: { queue: Topology.invalidQueue, total, messages }, text };
  },
};

const excerpt = (body: string): string =>
  (body.length > 80 ? `${body.slice(0, 77)}...` : body).replace(/\s+/g, ' ');

export const dlqReplayCommand: Command = {
  name: 'dlq replay',
  operands: '',
  summary: `Publish the messages of ${Topology.invalidQueue} again to the ${Topology.ingestExchange} exchange, after a fix.`,
  details: `Each message goes back with its original routing key and properties (without ${ERROR_HEADER} and the other x-notify-* headers ingest added, with ${REPLAYED_HEADER} counting replays), and is removed from the dead letters only once the broker confirmed the republish; a republish that is not confirmed stops the command with the message still in the queue (exit 1). At most the messages present at the start are replayed: one that ingest refuses again goes back to the dead letters and is not replayed twice in one run. Messages with a message-id are stored at most once however often they are replayed.`,
  positionals: 0,
  options: [{ ...LIMIT_OPTION, help: 'replay at most this many (default all, at most 100000)' }],
  async run(args: Args): Promise<CommandOutput> {
    const limit = args.int('limit', 100_000, 1, 100_000);
    const replayed = await withBroker(async (connection) => {
      const channel = await connection.createConfirmChannel();
      const total = await queueLength(channel);
      const done: DeadLetter[] = [];
      for (let i = 0; i < Math.min(limit, total); i++) {
        const m = await channel.get(Topology.invalidQueue, { noAck: false });
        if (m === false) break;
        await republish(channel, m);
        channel.ack(m);
        done.push(describe(m));
      }
      await channel.close();
      return done;
    });
    return {
      json: { replayed: replayed.length, messages: replayed },
      text: `replayed ${replayed.length} message(s) to ${Topology.ingestExchange}`,
    };
  },
};

async function republish(channel: ConfirmChannel, m: GetMessage): Promise<void> {
  const p = m.properties;
  const headers = { ...headersOf(m) };
  const replays = Number(headers[REPLAYED_HEADER] ?? 0);
  for (const name of [
    ERROR_HEADER,
    DROPPED_HEADER,
    ROUTING_KEY_HEADER,
    REFUSED_AT_HEADER,
    'x-death',
    'x-first-death-exchange',
    'x-first-death-queue',
    'x-first-death-reason',
    'x-last-death-exchange',
    'x-last-death-queue',
    'x-last-death-reason',
  ])
    delete headers[name];
  headers[REPLAYED_HEADER] = replays + 1;
  await new Promise<void>((resolve, reject) => {
    channel.publish(
      Topology.ingestExchange,
      originalRoutingKey(m),
      m.content,
      {
        contentType: p.contentType as string | undefined,
        contentEncoding: p.contentEncoding as string | undefined,
        messageId: p.messageId as string | undefined,
        correlationId: p.correlationId as string | undefined,
        timestamp: p.timestamp as number | undefined,
        type: p.type as string | undefined,
        appId: p.appId as string | undefined,
        persistent: true,
        headers,
      },
      (err) =>
        err
          ? reject(
              new CommandFailed(
                `the broker did not confirm a republish; the message stays in ${Topology.invalidQueue}`,
              ),
            )
          : resolve(),
    );
  });
}
