import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeMessageFrame } from '@notify/protocol';
import type { Wire } from '../../core/protocol-adapter';
import type { Session } from '../../core/sessions/session';
import { PusherChannelOutput } from './channel-output';

/** Records group publishes; sessions are opaque tokens here. */
class RecordingWire implements Pick<Wire, 'publish' | 'publishExcept'> {
  published: { group: string; frame: string; except?: Session }[] = [];
  publish(group: string, frame: string | Uint8Array): void {
    this.published.push({ group, frame: String(frame) });
  }
  publishExcept(except: Session, group: string, frame: string | Uint8Array): void {
    this.published.push({ group, frame: String(frame), except });
  }
}

const local = { id: 'local' } as unknown as Session;
const body = (channel: string, data: unknown): Uint8Array =>
  Buffer.from(
    encodeMessageFrame({ channel, offset: 1, id: 'm1', data, createdAt: '2026-01-01T00:00:00.000Z' }),
  );

function setup(): { wire: RecordingWire; output: PusherChannelOutput } {
  const wire = new RecordingWire();
  const output = new PusherChannelOutput(wire as unknown as Wire, {
    sessionOf: (id) => (id === '1.1' ? local : undefined),
  });
  return { wire, output };
}

describe('PusherChannelOutput', () => {
  it('publishes one Pusher frame per message to the channel group, under the Pusher name', () => {
    const { wire, output } = setup();
    output.publishLive('pusher:app:private-a', body('pusher:app:private-a', { event: 'e', data: '{"x":1}' }));
    assert.deepEqual(wire.published, [
      {
        group: 'p:pusher:app:private-a',
        frame: JSON.stringify({ event: 'e', channel: 'private-a', data: '{"x":1}' }),
      },
    ]);
  });

  it('skips the excluded socket when it is on this node, and only then', () => {
    const { wire, output } = setup();
    output.publishLive('pusher:app:c', body('pusher:app:c', { event: 'e', data: '', exclude: '1.1' }));
    output.publishLive('pusher:app:c', body('pusher:app:c', { event: 'e', data: '', exclude: '9.9' }));
    assert.equal(wire.published[0].except, local);
    assert.equal(wire.published[1].except, undefined);
  });

  it('ignores native channels and bodies that are not Pusher events', () => {
    const { wire, output } = setup();
    output.publishLive('news', body('news', { event: 'e', data: '' }));
    output.publishLive('pusher:app:c', body('pusher:app:c', { event: 'e', data: { not: 'a string' } }));
    output.publishLive('pusher:app:c', Buffer.from('{not json'));
    assert.deepEqual(wire.published, []);
  });
});
