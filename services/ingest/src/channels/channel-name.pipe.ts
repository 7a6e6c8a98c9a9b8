import { BadRequestException, type PipeTransform } from '@nestjs/common';
import { isValidChannelName } from '@notify/protocol';

/** Validates the `{channel}` path segment with the same rule the gateway and AMQP path use. */
export class ChannelNamePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isValidChannelName(value)) {
      throw new BadRequestException({
        message: 'validation failed',
        errors: [
          {
            field: 'channel',
            messages: [
              'channel must be dot-separated words of letters, digits, _ and - (at most 200 characters)',
            ],
          },
        ],
      });
    }
    return value;
  }
}
