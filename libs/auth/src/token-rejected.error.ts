export type TokenProblem = 'missing' | 'invalid' | 'expired';

export class TokenRejectedError extends Error {
  constructor(
    readonly problem: TokenProblem,
    detail: string,
    /** The detail names no secret and tells the token's issuer what to fix: the upgrade's reason says it. */
    readonly shown = false,
  ) {
    super(detail);
    this.name = 'TokenRejectedError';
  }
}
