import type { ConsumerDeserializer, IncomingEvent } from '@nestjs/microservices';

/**
 * Every message on notify.ingest goes to one handler, which dispatches on the routing key. An object,
 * not a plain string: Nest JSON.parses the pattern of every message, and a string that is not JSON
 * costs a thrown exception per message (a tenth of ingest's CPU under load).
 */
export const INGEST_PATTERN = { queue: 'notify.ingest' } as const;

/**
 * Producers publish plain JSON (the AMQP contract in docs/protocol.md), not Nest's `{pattern, data}`
 * envelope: the whole body is the event's data. Having no `id` makes Nest treat it as an event (no reply).
 */
export class PlainJsonDeserializer implements ConsumerDeserializer {
  deserialize(value: unknown): IncomingEvent {
    return { pattern: INGEST_PATTERN, data: value };
  }
}
