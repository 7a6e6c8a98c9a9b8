import { fromInternalChannel, isPusherEventData } from '@notify/pusher';
import type { StoredChannelMessage } from '@notify/store';
import type { Wire } from '../../core/protocol-adapter';
import type { ChannelOutput } from '../../core/ports';
import type { Session } from '../../core/sessions/session';

/** The transport group of a channel's Pusher subscribers (v1 uses `c:`). */
export const pusherGroup = (internalChannel: string): string => `p:${internalChannel}`;

const INTERNAL_PREFIX = 'pusher:';

/** The frame of an event of the internal channel, and whom it skips; null when `data` is no Pusher event. */
function encodeChannelEvent(internal: string, data: unknown): { frame: string; exclude?: string } | null {
  const channel = fromInternalChannel(internal);
  if (!channel || !isPusherEventData(data)) return null;
  const frame = JSON.stringify({ event: data.event, channel: channel.name, data: data.data });
  return { frame, exclude: data.exclude };
}

/** A stored event as one connection's frame; null when it skips `socketId` or is no Pusher event. */
export function encodeStoredEvent(m: StoredChannelMessage, socketId: string): string | null {
  const encoded = encodeChannelEvent(m.channel, m.data);
  return encoded && encoded.exclude !== socketId ? encoded.frame : null;
}

/** The node's Pusher connections by socket_id, for the one an event excludes. */
export interface SocketLookup {
  sessionOf(socketId: string): Session | undefined;
}

/**
 * Channel messages of Pusher channels (`pusher:<appId>:<name>`) as Pusher frames, built once per
 * message per node and published to the channel's Pusher subscribers; the socket an event excludes
 * (HTTP API `socket_id`, a client event's sender) is skipped when it is on this node. Other channels
 * cost one prefix check.
 */
export class PusherChannelOutput implements ChannelOutput {
  constructor(
    private readonly wire: Wire,
    private readonly sockets: SocketLookup,
  ) {}

  publishLive(channel: string, body: Uint8Array): void {
    if (!channel.startsWith(INTERNAL_PREFIX)) return;
    let data: unknown;
    try {
      data = (
        JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')) as {
          data?: unknown;
        }
      ).data;
    } catch {
      return;
    }
    this.publish(channel, encodeChannelEvent(channel, data));
  }

  publishStored(channel: string, m: StoredChannelMessage): void {
    if (channel.startsWith(INTERNAL_PREFIX)) this.publish(channel, encodeChannelEvent(channel, m.data));
  }

  /** A client event from any node: `body` is its frame already, sent to all but its sender. */
  relayClientEvent(channel: string, body: Uint8Array, senderSocketId: string): void {
    this.send(channel, body, senderSocketId);
  }

  private publish(channel: string, encoded: { frame: string; exclude?: string } | null): void {
    if (encoded) this.send(channel, encoded.frame, encoded.exclude);
  }

  private send(channel: string, frame: string | Uint8Array, exclude: string | undefined): void {
    const excluded = exclude === undefined ? undefined : this.sockets.sessionOf(exclude);
    if (excluded) this.wire.publishExcept(excluded, pusherGroup(channel), frame);
    else this.wire.publish(pusherGroup(channel), frame);
  }
}
