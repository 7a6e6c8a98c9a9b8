import type { ConsumerDeserializer, IncomingEvent } from '@nestjs/microservices';

/** Every message on notify.ingest goes to one handler, which dispatches on the routing key. */
export const INGEST_PATTERN = 'notify.ingest';

/**
 * Producers publish plain JSON (DESIGN §5), not Nest's `{pattern, data}` envelope: the whole body is
 * the event's data. Having no `id` makes Nest treat it as an event (no reply).
 */
export class PlainJsonDeserializer implements ConsumerDeserializer {
  deserialize(value: unknown): IncomingEvent {
    return { pattern: INGEST_PATTERN, data: value };
  }
}
