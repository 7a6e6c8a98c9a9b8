import { BadRequestException, ValidationPipe } from '@nestjs/common';
import { flattenValidationErrors, VALIDATOR_OPTIONS } from '@notify/contracts';

/** 400 with every failing field, in the same shape the AMQP dead-letter reason is built from. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    ...VALIDATOR_OPTIONS,
    transform: true,
    exceptionFactory: (errors) =>
      new BadRequestException({ message: 'validation failed', errors: flattenValidationErrors(errors) }),
  });
}
