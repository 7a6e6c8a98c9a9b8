import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Channel } from 'amqplib';
import { closedSignal } from './channel-closed';

/** What closedSignal reads of an amqplib channel: its events, number, and connection's table. */
function fakeChannel(): { channel: Channel; release: () => void } {
  const connection = { channels: [null] as unknown[] };
  const channel = Object.assign(new EventEmitter(), { ch: 1, connection });
  connection.channels[1] = { channel };
  return {
    channel: channel as unknown as Channel,
    release: () => {
      connection.channels[1] = null;
      channel.emit('close');
    },
  };
}

describe('closedSignal', () => {
  it('aborts when the channel closes, one signal per channel', () => {
    const { channel, release } = fakeChannel();
    const signal = closedSignal(channel);
    assert.equal(signal.aborted, false);
    assert.equal(closedSignal(channel), signal);
    release();
    assert.equal(signal.aborted, true);
  });

  it('is aborted at once for a channel that closed before it was first seen', () => {
    const { channel, release } = fakeChannel();
    release();
    assert.equal(closedSignal(channel).aborted, true);
  });
});
