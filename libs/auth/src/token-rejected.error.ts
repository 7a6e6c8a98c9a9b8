export type TokenProblem = 'missing' | 'invalid' | 'expired';

export class TokenRejectedError extends Error {
  constructor(
    readonly problem: TokenProblem,
    detail: string,
  ) {
    super(detail);
    this.name = 'TokenRejectedError';
  }
}
