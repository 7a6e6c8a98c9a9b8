/**
 * Client events (`client-*`) travel between gateways on notify.delivery, under the channel's routing
 * key, as messages of this AMQP type: not stored, no offset. The body is the Pusher frame the other
 * subscribers receive; the sender's socket_id, in this header, does not receive it.
 */
export const PUSHER_CLIENT_EVENT_KIND = 'pusher-client-event';
export const PUSHER_SOCKET_HEADER = 'x-pusher-socket';
