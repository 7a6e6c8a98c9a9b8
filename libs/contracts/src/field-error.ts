/** One failing field of a body and why: the `errors` entries of a 400, and of a dead-letter reason. */
export interface FieldError {
  field: string;
  messages: string[];
}
