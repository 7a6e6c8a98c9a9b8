/**
 * Messages on notify.delivery. The body is the client frame's JSON bytes, ready to send, so a gateway
 * forwards it without parsing; what the gateway needs to route and order it travels in the AMQP
 * `type` property and headers.
 */
export enum DeliveryKind {
  Notification = 'notification',
  Read = 'read',
  ChannelMessage = 'message',
  /** Body `{type: "retracted", ids, unread, asOfSeq}`, numbered with the read state (`x-read-version`). */
  Retracted = 'retracted',
  /** Body: the `preferences` frame (with its `version`). */
  Preferences = 'preferences',
  /** Between gateways, on a presence channel's key: one node's joins and leaves of one window. */
  Presence = 'presence',
}

export const DeliveryHeader = {
  userId: 'x-user',
  seq: 'x-seq',
  channel: 'x-channel',
  offset: 'x-offset',
  /** On `presence` messages: the publishing node's registration key (node id and incarnation). */
  node: 'x-node',
  /** On `read` messages: the user's read-state version; gateways drop older ones. */
  readVersion: 'x-read-version',
  /** The gateway node that published a change and already told its own sockets (they skip it). */
  originNode: 'x-origin-node',
  /** ms since epoch when ingest accepted the event: end-to-end latency is measured from it. */
  acceptedAt: 'x-accepted-at',
  /** ms since epoch when the event was committed in PostgreSQL. */
  committedAt: 'x-committed-at',
  /** ms since epoch when ingest handed the delivery to the broker. */
  publishedAt: 'x-published-at',
  /** The producer's request or message id (ingest's logs): gateways log it with the message at debug. */
  correlationId: 'x-correlation-id',
} as const;

/**
 * ms since epoch with sub-millisecond precision, for the stage timestamps above: ingest and the
 * gateways compare them across processes, which share the clock on one machine (across machines the
 * broker stage also carries their clock offset).
 */
export const stampNow = (): number => performance.timeOrigin + performance.now();
