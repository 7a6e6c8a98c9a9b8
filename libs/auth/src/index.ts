export * from './token-rejected.error';
export * from './jwt-verifier';
export * from './api-keys';
