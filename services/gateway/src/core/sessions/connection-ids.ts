import { randomBytes } from 'node:crypto';

/**
 * Connection ids (UUIDs) of one gateway process: a random prefix drawn at start and a counter. A
 * session keeps only its number (a small integer, stored inline in the session object) instead of
 * a 36-character string per socket; the UUID is spelt out when it is sent (`ready`) or written
 * (`user_connections`). 90 random bits per process keep ids of different processes apart.
 */
export class ConnectionIds {
  private readonly prefix: string;
  private last = 0;

  constructor(random: Buffer = randomBytes(12)) {
    const hex = random.toString('hex');
    // Version 4 and the RFC 4122 variant, so the ids are well-formed UUIDs.
    const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
    this.prefix = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 24)}`;
  }

  /** The next connection's number: 1, 2, 3 …, wrapping below 2^31 so it stays a small integer. */
  next(): number {
    this.last = this.last >= 0x7fffffff ? 1 : this.last + 1;
    return this.last;
  }

  uuidOf(connectionNumber: number): string {
    return this.prefix + connectionNumber.toString(16).padStart(8, '0');
  }
}
