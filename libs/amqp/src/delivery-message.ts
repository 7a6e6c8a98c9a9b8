/**
 * Messages on notify.delivery. The body is the client frame's JSON bytes, ready to send, so a gateway
 * forwards it without parsing; what the gateway needs to route and order it travels in the AMQP
 * `type` property and headers.
 */
export enum DeliveryKind {
  Notification = 'notification',
  Read = 'read',
  ChannelMessage = 'message',
}

export const DeliveryHeader = {
  userId: 'x-user',
  seq: 'x-seq',
  channel: 'x-channel',
  offset: 'x-offset',
  /** On `read` messages: the user's read-state version; gateways drop older ones. */
  readVersion: 'x-read-version',
  /** ms since epoch when ingest accepted the event: end-to-end latency is measured from it. */
  acceptedAt: 'x-accepted-at',
} as const;
