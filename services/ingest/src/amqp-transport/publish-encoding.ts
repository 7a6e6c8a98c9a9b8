import { dirname, join } from 'node:path';
import type { Options } from 'amqplib';

/**
 * amqplib's own encoders of a publish (lib/api_args.js and lib/defs.js; its package exports neither,
 * so they are loaded by path). They are what `publish` runs on the way to the socket.
 */
const lib = join(dirname(require.resolve('amqplib')), 'lib');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const args = require(join(lib, 'api_args.js')) as {
  publish(exchange: string, routingKey: string, options: Options.Publish): object;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const defs = require(join(lib, 'defs.js')) as {
  BasicPublish: number;
  BasicProperties: number;
  encodeMethod(id: number, channel: number, fields: object): Buffer;
  encodeProperties(id: number, channel: number, size: number, fields: object): Buffer;
};

/**
 * Why amqplib would refuse to encode this publish, or null if it encodes. Through
 * amqp-connection-manager such a refusal never reaches the caller: the channel wrapper throws it in
 * its send loop, reports it as an 'error' event and leaves the publish to time out. It happens to a
 * copy of a delivered message: amqplib decodes a header table of up to the frame size (128 KiB) but
 * encodes one of at most 64 KiB, and a property or a key that was not UTF-8 grows when decoded (each
 * bad byte becoming U+FFFD's three) past the 255 bytes its field holds.
 */
export function publishEncodingError(
  exchange: string,
  routingKey: string,
  contentLength: number,
  options: Options.Publish,
): Error | null {
  try {
    const fields = args.publish(exchange, routingKey, options);
    defs.encodeMethod(defs.BasicPublish, 0, fields);
    defs.encodeProperties(defs.BasicProperties, 0, contentLength, fields);
    return null;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
