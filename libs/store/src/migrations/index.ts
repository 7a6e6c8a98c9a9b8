import type { Migration } from 'kysely';
import * as m0001 from './0001-notifications';
import * as m0002 from './0002-read-version';
import * as m0003 from './0003-channels';
import * as m0004 from './0004-user-connections';
import * as m0005 from './0005-read-notifications-index';
import * as m0006 from './0006-presence';
import * as m0007 from './0007-inbox';
import * as m0008 from './0008-channel-occupancy';
import * as m0009 from './0009-receipts-age-brin';
import * as m0010 from './0010-append-refusal';

/**
 * Every migration, in order. Listed statically (not read from a folder) so that a bundled or
 * transpiled build carries them. Names are permanent: never rename or edit a released one.
 */
export const migrations: Record<string, Migration> = {
  '0001-notifications': m0001,
  '0002-read-version': m0002,
  '0003-channels': m0003,
  '0004-user-connections': m0004,
  '0005-read-notifications-index': m0005,
  '0006-presence': m0006,
  '0007-inbox': m0007,
  '0008-channel-occupancy': m0008,
  '0009-receipts-age-brin': m0009,
  '0010-append-refusal': m0010,
};
