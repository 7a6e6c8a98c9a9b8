import { encodeMessageFrame } from '@notify/protocol';
import { toChannelPayload, type StoredChannelMessage } from '@notify/store';
import type { Wire } from '../../core/protocol-adapter';
import type { ChannelOutput } from '../../core/ports';

/** The transport group of a channel's v1 subscribers (other protocols use other prefixes). */
export const channelGroup = (channel: string): string => `c:${channel}`;

export const encodeStoredMessage = (m: StoredChannelMessage): string =>
  encodeMessageFrame(toChannelPayload(m));

/** Channel messages as v1 `message` frames: ingest publishes that very frame, so live ones go as is. */
export class V1ChannelOutput implements ChannelOutput {
  constructor(private readonly wire: Wire) {}

  publishLive(channel: string, body: Uint8Array): void {
    this.wire.publish(channelGroup(channel), body);
  }

  publishStored(channel: string, m: StoredChannelMessage): void {
    this.wire.publish(channelGroup(channel), encodeStoredMessage(m));
  }
}
