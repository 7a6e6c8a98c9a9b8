import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { validate, type ValidationError } from 'class-validator';
import type { FieldError } from './field-error';
import { unstorableFields } from './storable-json';
import { acceptByPlan, validationPlanOf } from './validation-plan';

export type { FieldError } from './field-error';

/** Unknown fields are refused so that a misspelt field is an error, not silently dropped data. */
export const VALIDATOR_OPTIONS = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
} as const;

export function flattenValidationErrors(errors: readonly ValidationError[], prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const error of errors) {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    if (error.constraints) out.push({ field, messages: Object.values(error.constraints) });
    if (error.children?.length) out.push(...flattenValidationErrors(error.children, field));
  }
  return out;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/**
 * Validates an untrusted value parsed from JSON (an AMQP body) with the same rules the HTTP pipe
 * applies. A value that passes is accepted by its class's validation plan without class-validator's
 * allocations; anything else gets class-validator's verdict and messages. It never throws: a body
 * it cannot check, or cannot store (see unstorableFields), is refused with the reason.
 */
export async function validatePlain<T extends object>(
  cls: ClassConstructor<T>,
  plain: unknown,
): Promise<Validated<T>> {
  if (typeof plain !== 'object' || plain === null || Array.isArray(plain)) {
    return { ok: false, errors: [{ field: '', messages: ['body must be a JSON object'] }] };
  }
  const unstorable = unstorableFields(plain);
  if (unstorable.length > 0) return { ok: false, errors: unstorable };
  const plan = validationPlanOf(cls);
  const accepted = plan && acceptByPlan(plan, plain);
  if (accepted) return { ok: true, value: accepted };
  let instance: T;
  let errors: ValidationError[];
  try {
    instance = plainToInstance(cls, plain);
    errors = await validate(instance, VALIDATOR_OPTIONS);
  } catch (err) {
    // class-transformer throws on some JSON, e.g. an invalid body whose `data` holds an object with a
    // `constructor` key. The body is refused with that reason rather than left unanswered.
    const reason = err instanceof Error ? err.message : String(err);
    return { ok: false, errors: [{ field: '', messages: [`body could not be validated: ${reason}`] }] };
  }
  return errors.length === 0
    ? { ok: true, value: instance }
    : { ok: false, errors: flattenValidationErrors(errors) };
}

export function describeFieldErrors(errors: readonly FieldError[]): string {
  return errors
    .map((e) => (e.field ? `${e.field}: ${e.messages.join(', ')}` : e.messages.join(', ')))
    .join('; ');
}
