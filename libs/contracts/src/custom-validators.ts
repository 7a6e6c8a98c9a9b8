import { isValidChannelName } from '@notify/protocol';
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
