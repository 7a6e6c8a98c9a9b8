export * from './token-rejected.error';
export * from './claims';
export * from './jwt-verifier';
export * from './jwks-cache';
export * from './api-keys';
