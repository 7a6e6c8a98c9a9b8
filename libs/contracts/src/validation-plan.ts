import type { ClassConstructor } from 'class-transformer';
import {
  getMetadataStorage,
  ValidationTypes,
  type ValidationArguments,
  type ValidatorConstraintInterface,
} from 'class-validator';

/**
 * The accept-only fast path of validation (`validatePlain`, ingest's HTTP pipe), for bodies parsed
 * from JSON.
 *
 * class-validator builds an error object for every property of every value it checks, and
 * class-transformer copies the whole value first: ~28 KB allocated per notification on ingest's AMQP
 * path, close to half of all it allocates there. A plan runs the same rules, read once from
 * class-validator's own metadata (the decorators stay the only place they are written), and builds
 * nothing when a value passes. It only ever answers "valid" or "ask class-validator": any failure,
 * any rule it does not handle (nested or asynchronous validation) and any value that is not plain
 * JSON goes the full way, which also writes the error messages. A test holds the two to the same
 * verdicts and the same instances, except for data class-transformer cannot copy (see isPlainJson).
 */

interface Check {
  readonly each: boolean;
  readonly validateIf: ((object: object, value: unknown) => boolean) | undefined;
  readonly validators: readonly ValidatorConstraintInterface[];
  readonly args: Omit<ValidationArguments, 'object' | 'value'>;
}

interface PropertyPlan {
  readonly name: string;
  /** `@IsOptional`, `@ValidateIf`: when one is false the property is not checked at all. */
  readonly conditions: readonly ((object: object, value: unknown) => boolean)[];
  /** `@IsDefined` first, then every other rule, as class-validator runs them. */
  readonly checks: readonly Check[];
}

export interface ValidationPlan<T extends object> {
  readonly cls: ClassConstructor<T>;
  readonly properties: readonly PropertyPlan[];
  readonly known: ReadonlySet<string>;
}

type ValidationMetadataOf = ReturnType<
  ReturnType<typeof getMetadataStorage>['getTargetValidationMetadatas']
>[number];

const plans = new WeakMap<ClassConstructor<object>, ValidationPlan<object> | null>();

/**
 * The class's plan, or null when it has a rule the fast path does not run or a field without rules
 * (it then always declines).
 */
export function validationPlanOf<T extends object>(cls: ClassConstructor<T>): ValidationPlan<T> | null {
  let plan = plans.get(cls);
  if (plan === undefined) {
    plan = buildPlan(cls);
    plans.set(cls, plan);
  }
  return plan as ValidationPlan<T> | null;
}

function buildPlan<T extends object>(cls: ClassConstructor<T>): ValidationPlan<T> | null {
  const storage = getMetadataStorage();
  // The same query class-validator's executor makes without groups or `always`.
  const metadatas = storage.getTargetValidationMetadatas(cls, '', false, false, undefined);
  if (metadatas.length === 0) return null;
  const byProperty = storage.groupByPropertyName(metadatas);
  const properties: PropertyPlan[] = [];
  for (const [name, group] of Object.entries(byProperty)) {
    const conditions: PropertyPlan['conditions'][number][] = [];
    const defined: Check[] = [];
    const rules: Check[] = [];
    for (const m of group) {
      switch (m.type) {
        case ValidationTypes.WHITELIST:
          break;
        case ValidationTypes.CONDITIONAL_VALIDATION:
          conditions.push(m.constraints[0] as PropertyPlan['conditions'][number]);
          break;
        case ValidationTypes.IS_DEFINED:
          defined.push(checkOf(cls, m));
          break;
        case ValidationTypes.CUSTOM_VALIDATION:
          rules.push(checkOf(cls, m));
          break;
        default:
          return null;
      }
    }
    if (group.some((m) => m.groups?.length || m.always)) return null;
    properties.push({ name, conditions, checks: [...defined, ...rules] });
  }
  const known = new Set(properties.map((p) => p.name));
  // The class's own fields (a fresh instance's keys) go through the whitelist too; one without rules
  // makes class-validator refuse every body, so that is left to it. Checked once, not per body.
  if (Object.keys(new cls()).some((key) => !known.has(key))) return null;
  return { cls, properties, known };
}

function checkOf(cls: ClassConstructor<object>, m: ValidationMetadataOf): Check {
  const constraints = getMetadataStorage().getTargetValidatorConstraints(m.constraintCls);
  return {
    each: m.each,
    validateIf: m.validateIf,
    validators: constraints.map((c) => c.instance),
    args: { targetName: cls.name, property: m.propertyName, constraints: m.constraints },
  };
}

/**
 * The instance class-transformer would build from `plain`, when every rule of the plan passes;
 * undefined when class-validator must decide. `plain` must come from JSON.parse.
 */
export function acceptByPlan<T extends object>(plan: ValidationPlan<T>, plain: object): T | undefined {
  const instance = new plan.cls() as Record<string, unknown>;
  for (const key of Object.keys(plain)) {
    // whitelist + forbidNonWhitelisted; `__proto__` is never a known property, so it declines here,
    // before the assignment below could set the instance's prototype.
    if (!plan.known.has(key)) return undefined;
    const value = (plain as Record<string, unknown>)[key];
    // class-transformer copies nested values, and its copy loses keys such as `__proto__`.
    if (!isPlainJson(value, 0)) return undefined;
    instance[key] = value;
  }
  for (const property of plan.properties) {
    const value = instance[property.name];
    let checked = true;
    for (const condition of property.conditions) checked = condition(instance, value) && checked;
    if (!checked) continue;
    for (const check of property.checks) if (!passes(check, instance, value)) return undefined;
  }
  return instance as T;
}

function passes(check: Check, object: object, value: unknown): boolean {
  if (check.validateIf && !check.validateIf(object, value)) return true;
  // A literal, not a spread: V8 builds `{ ...a, b }` through the runtime, ~1 µs each.
  const { targetName, property, constraints } = check.args;
  const args: ValidationArguments = { targetName, property, constraints, object, value };
  for (const validator of check.validators) {
    // Sets and Maps, which class-validator also iterates, never come out of JSON.parse.
    if (check.each && Array.isArray(value)) {
      for (const item of value) if (!isTrue(validator.validate(item, args))) return false;
    } else if (!isTrue(validator.validate(value, args))) return false;
  }
  return true;
}

/** A promise (an asynchronous rule) is not a pass: class-validator awaits it. */
const isTrue = (result: unknown): boolean =>
  !!result && !(typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function');

const MAX_DEPTH = 64;

/**
 * Values JSON.parse makes: primitives, arrays and plain objects. An object with a `__proto__` key is
 * left to class-transformer, whose copy drops that key. Keys such as `constructor` stay: they are
 * data, delivered as sent (class-transformer cannot copy them, see validatePlain).
 */
function isPlainJson(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (depth > MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!isPlainJson(item, depth + 1)) return false;
    return Object.getPrototypeOf(value) === Array.prototype;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const key of Object.keys(value)) {
    if (key === '__proto__') return false;
    if (!isPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}
