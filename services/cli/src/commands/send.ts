import { CommandFailed, UsageError, type Args } from '../kit/args';
import type { Command, CommandOutput } from '../kit/command';
import { HTTP_OPTIONS, postToIngest } from '../kit/connections';
import { table } from '../kit/output';

interface Accepted {
  results: { userId: string; id: string; seq: number }[];
}

export const sendCommand: Command = {
  name: 'send',
  operands: '',
  summary: 'Send a notification through ingest (POST /v1/notifications).',
  details:
    'Each --user gets its own copy and seq. --request-id is sent as X-Request-Id: ingest and the gateways log it (docs/operations.md, "Correlation id").',
  positionals: 0,
  options: [
    { name: 'user', value: '<userId>', repeat: true, help: 'recipient' },
    { name: 'topic', value: '<topic>', help: 'topic, e.g. order.shipped (required)' },
    { name: 'title', value: '<text>', help: 'title' },
    { name: 'body', value: '<text>', help: 'body text' },
    { name: 'data', value: '<json>', help: 'data object, as JSON' },
    { name: 'idempotency-key', value: '<key>', help: 'a retry with the same key stores nothing new' },
    { name: 'ttl-seconds', value: '<n>', help: 'expires after this many seconds' },
    { name: 'request-id', value: '<id>', help: 'X-Request-Id of the request (the correlation id)' },
    ...HTTP_OPTIONS,
  ],
  async run(args: Args): Promise<CommandOutput> {
    const users = args.list('user');
    const topic = args.string('topic');
    if (users.length === 0) throw new UsageError('--user is required');
    if (topic === undefined) throw new UsageError('--topic is required');
    const ttl = args.string('ttl-seconds');
    const body = {
      ...(users.length === 1 ? { userId: users[0] } : { userIds: users }),
      topic,
      title: args.string('title'),
      body: args.string('body'),
      data: args.json('data'),
      idempotencyKey: args.string('idempotency-key'),
      ttlSeconds: ttl === undefined ? undefined : args.int('ttl-seconds', 0, 1, 2 ** 31 - 1),
    };
    const requestId = args.string('request-id');
    const answer = (await postToIngest(
      args,
      '/v1/notifications',
      body,
      requestId ? { 'x-request-id': requestId } : {},
    )) as Accepted;
    if (!Array.isArray(answer?.results)) throw new CommandFailed('ingest answered without results');
    return {
      json: answer,
      text: table(
        ['userId', 'seq', 'id'],
        answer.results.map((r) => [r.userId, r.seq, r.id]),
      ),
    };
  },
};

export const publishCommand: Command = {
  name: 'publish',
  operands: '<channel>',
  summary: 'Publish a message to a channel through ingest (POST /v1/channels/<channel>/messages).',
  details: 'Subscribers of the channel get it at once; it stays in the channel history for replay.',
  positionals: 1,
  options: [
    { name: 'data', value: '<json>', help: 'the message, as JSON (required)' },
    { name: 'idempotency-key', value: '<key>', help: 'a retry with the same key stores nothing new' },
    { name: 'request-id', value: '<id>', help: 'X-Request-Id of the request (the correlation id)' },
    ...HTTP_OPTIONS,
  ],
  async run(args: Args): Promise<CommandOutput> {
    const channel = args.positionals[0] ?? '';
    const data = args.json('data');
    if (data === undefined) throw new UsageError('--data is required');
    const requestId = args.string('request-id');
    const answer = (await postToIngest(
      args,
      `/v1/channels/${encodeURIComponent(channel)}/messages`,
      { data, idempotencyKey: args.string('idempotency-key') },
      requestId ? { 'x-request-id': requestId } : {},
    )) as { id: string; offset: number };
    return { json: answer, text: `published to ${channel}: offset ${answer.offset}, id ${answer.id}` };
  },
};
