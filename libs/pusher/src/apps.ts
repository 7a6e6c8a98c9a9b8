import { ConfigError, type EnvReader } from '@notify/config';

/** One Pusher app: what a Pusher client and server SDK are configured with. */
export interface PusherApp {
  readonly id: string;
  readonly key: string;
  readonly secret: string;
}

const APP_ID = /^[A-Za-z0-9_-]{1,64}$/;
const KEY = /^[A-Za-z0-9_-]{1,128}$/;
const SECRET = /^[\x21-\x7e]{8,256}$/;

/**
 * `NOTIFY_PUSHER_APPS`: comma-separated `appId:key:secret`. Empty or unset → no apps, and the Pusher
 * endpoints answer 404. Ids and keys must be unique: a key picks the app a socket belongs to, an id
 * the app an HTTP request belongs to.
 */
export function parsePusherApps(raw: string | undefined, variable = 'NOTIFY_PUSHER_APPS'): PusherApp[] {
  if (raw === undefined || raw.trim() === '') return [];
  const apps: PusherApp[] = [];
  for (const entry of raw.split(',')) {
    const parts = entry.trim().split(':');
    if (parts.length !== 3)
      throw new ConfigError(variable, `entry "${entry.trim()}" is not appId:key:secret`);
    const [id, key, secret] = parts as [string, string, string];
    if (!APP_ID.test(id)) throw new ConfigError(variable, `app id "${id}" must match ${APP_ID.source}`);
    if (!KEY.test(key)) throw new ConfigError(variable, `key of app ${id} must match ${KEY.source}`);
    if (!SECRET.test(secret))
      throw new ConfigError(variable, `secret of app ${id} must be 8–256 printable ASCII characters`);
    if (apps.some((a) => a.id === id)) throw new ConfigError(variable, `app id "${id}" appears twice`);
    if (apps.some((a) => a.key === key)) throw new ConfigError(variable, `key "${key}" appears twice`);
    apps.push({ id, key, secret });
  }
  return apps;
}

/** The secret of the app `npm start` configures and prints: public, so production refuses it. */
export const DEV_PUSHER_SECRET = 'dev-pusher-secret';

/** `NOTIFY_PUSHER_APPS` as parsePusherApps reads it; with NODE_ENV=production no app has DEV_PUSHER_SECRET. */
export function readPusherApps(env: EnvReader): PusherApp[] {
  const apps = parsePusherApps(env.optionalString('NOTIFY_PUSHER_APPS'));
  env.refuseDevValue(
    'NOTIFY_PUSHER_APPS',
    apps.map((a) => a.secret),
    DEV_PUSHER_SECRET,
  );
  return apps;
}

/** Lookups by key (sockets) and by id (HTTP API). */
export class PusherApps {
  private readonly byKey = new Map<string, PusherApp>();
  private readonly byId = new Map<string, PusherApp>();

  constructor(readonly all: readonly PusherApp[]) {
    for (const app of all) {
      this.byKey.set(app.key, app);
      this.byId.set(app.id, app);
    }
  }

  get enabled(): boolean {
    return this.all.length > 0;
  }

  withKey(key: string): PusherApp | undefined {
    return this.byKey.get(key);
  }

  withId(id: string): PusherApp | undefined {
    return this.byId.get(id);
  }
}
