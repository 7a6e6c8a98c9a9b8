import {
  BadRequestException,
  ValidationPipe,
  type ArgumentMetadata,
  type ValidationPipeOptions,
} from '@nestjs/common';
import {
  acceptByPlan,
  type FieldError,
  flattenValidationErrors,
  unstorableFields,
  validationPlanOf,
  VALIDATOR_OPTIONS,
} from '@notify/contracts';

/**
 * Nest's ValidationPipe, with the accept-only fast path in front for JSON bodies: a body that passes
 * its class's validation plan is not copied and checked again by class-transformer and
 * class-validator. Anything else (a failure, or a body the plan leaves to them) takes the full pipe,
 * which answers 400 with every failing field.
 */
class PlannedValidationPipe extends ValidationPipe {
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    // First, and for any body: class-transformer recurses per nesting level, and a body 20,000 levels
    // deep would overflow its stack (a 500) before any rule said no.
    const unstorable = metadata.type === 'body' ? unstorableFields(value) : [];
    if (unstorable.length > 0) return Promise.reject(validationFailed(unstorable));
    if (metadata.type === 'body' && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const plan =
        metadata.metatype && this.toValidate(metadata) ? validationPlanOf(metadata.metatype) : null;
      const accepted = plan && acceptByPlan(plan, value);
      if (accepted) return Promise.resolve(accepted);
    }
    return super.transform(value, metadata);
  }
}

/** 400 with every failing field, in the same shape the AMQP dead-letter reason is built from. */
export const VALIDATION_PIPE_OPTIONS: ValidationPipeOptions = {
  ...VALIDATOR_OPTIONS,
  transform: true,
  exceptionFactory: (errors) => validationFailed(flattenValidationErrors(errors)),
};

function validationFailed(errors: FieldError[]): BadRequestException {
  return new BadRequestException({ message: 'validation failed', errors });
}

export function createValidationPipe(): ValidationPipe {
  return new PlannedValidationPipe(VALIDATION_PIPE_OPTIONS);
}
