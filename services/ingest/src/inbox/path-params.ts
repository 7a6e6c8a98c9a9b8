import { BadRequestException, type PipeTransform } from '@nestjs/common';
import { USER_ID_PATTERN } from '@notify/protocol';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A path or query value checked by one rule: a 400 naming the field, in the shape validation uses. */
class FieldPipe implements PipeTransform<string | undefined, string | undefined> {
  constructor(
    private readonly field: string,
    private readonly valid: (value: string) => boolean,
    private readonly message: string,
    private readonly optional = false,
  ) {}

  transform(value: string | undefined): string | undefined {
    if (value === undefined && this.optional) return undefined;
    if (typeof value !== 'string' || !this.valid(value))
      throw new BadRequestException({
        message: 'validation failed',
        errors: [{ field: this.field, messages: [this.message] }],
      });
    return value;
  }
}

const USER_ID_MESSAGE = 'userId must be 1-128 characters of letters, digits and _@:+.=-';
const isUserId = (v: string): boolean => USER_ID_PATTERN.test(v);

/** `{userId}` in the path. */
export const userIdParam = (): FieldPipe => new FieldPipe('userId', isUserId, USER_ID_MESSAGE);
/** `?userId=`: optional; when given, only that user's notification is found. */
export const optionalUserIdQuery = (): FieldPipe => new FieldPipe('userId', isUserId, USER_ID_MESSAGE, true);
/** `{id}` in the path: a notification id. */
export const notificationIdParam = (): FieldPipe =>
  new FieldPipe('id', (v) => UUID.test(v), 'id must be a notification id (UUID)');
