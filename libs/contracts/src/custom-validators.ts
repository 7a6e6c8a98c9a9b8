import { isValidChannelName, isValidTimeZone, isValidTopicPattern } from '@notify/protocol';
import { registerDecorator, type ValidationOptions } from 'class-validator';

/** Bounds a JSON value by its serialised UTF-8 size, which is what travels and is stored. */
export function MaxJsonBytes(maxBytes: number, options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'maxJsonBytes',
      target: target.constructor,
      propertyName: String(propertyName),
      constraints: [maxBytes],
      options: { message: `$property must serialise to at most ${maxBytes} bytes of JSON`, ...options },
      validator: {
        validate(value: unknown): boolean {
          if (value === undefined) return true;
          try {
            return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8') <= maxBytes;
          } catch {
            return false;
          }
        },
      },
    });
  };
}

/** Fails when `other` is also present: for fields of which exactly one may be given. */
export function IsAbsentWith(other: string, options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'isAbsentWith',
      target: target.constructor,
      propertyName: String(propertyName),
      constraints: [other],
      options: { message: `$property and ${other} cannot both be given`, ...options },
      validator: {
        validate(value: unknown, args): boolean {
          return value === undefined || (args?.object as Record<string, unknown>)[other] === undefined;
        },
      },
    });
  };
}

/** Channel names: dot-separated words (see @notify/protocol's CHANNEL_NAME_PATTERN). */
export function IsChannelName(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'isChannelName',
      target: target.constructor,
      propertyName: String(propertyName),
      options: {
        message: '$property must be dot-separated words of letters, digits, _ and - (at most 200 characters)',
        ...options,
      },
      validator: {
        validate: (value: unknown): boolean => typeof value === 'string' && isValidChannelName(value),
      },
    });
  };
}

/**
 * PostgreSQL's text and jsonb cannot hold U+0000, so a value with one would fail at the database;
 * refusing it here gives the producer a clear 400 (or dead-letter reason) instead of an internal error.
 */
export function HasNoNulCharacter(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'hasNoNulCharacter',
      target: target.constructor,
      propertyName: String(propertyName),
      options: { message: '$property must not contain the character U+0000', ...options },
      validator: {
        validate(value: unknown): boolean {
          if (value === undefined || value === null) return true;
          if (typeof value === 'string') return !value.includes('\u0000');
          try {
            return !(JSON.stringify(value) ?? '').includes('\\u0000');
          } catch {
            return false;
          }
        },
      },
    });
  };
}

/** Fails when equal to the property `other` (quiet hours that start and end at once). */
export function DiffersFrom(other: string, options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'differsFrom',
      target: target.constructor,
      propertyName: String(propertyName),
      constraints: [other],
      options: { message: `$property must differ from ${other}`, ...options },
      validator: {
        validate: (value: unknown, args): boolean =>
          value !== (args?.object as Record<string, unknown>)[other],
      },
    });
  };
}

/** An IANA time zone the runtime's Intl knows (the one quiet hours are evaluated with). */
export function IsTimeZone(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'isTimeZone',
      target: target.constructor,
      propertyName: String(propertyName),
      options: { message: '$property must be an IANA time zone, e.g. Europe/Berlin', ...options },
      validator: {
        validate: (value: unknown): boolean => typeof value === 'string' && isValidTimeZone(value),
      },
    });
  };
}

/** A topic, or `prefix.*` for every topic below a prefix (muted topics, list filters). */
export function IsTopicPattern(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'isTopicPattern',
      target: target.constructor,
      propertyName: String(propertyName),
      options: {
        message:
          '$property must be a topic (dot-separated words) or a prefix ending in .* (e.g. marketing.*)',
        ...options,
      },
      validator: {
        validate: (value: unknown): boolean => typeof value === 'string' && isValidTopicPattern(value),
      },
    });
  };
}
