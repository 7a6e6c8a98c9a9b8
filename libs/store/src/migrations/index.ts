import type { Migration } from 'kysely';
import * as m0001 from './0001-notifications';

/**
 * Every migration, in order. Listed statically (not read from a folder) so that a bundled or
 * transpiled build carries them. Names are permanent: never rename or edit a released one.
 */
export const migrations: Record<string, Migration> = {
  '0001-notifications': m0001,
};
