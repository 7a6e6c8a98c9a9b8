export * from './config-error';
export * from './env-reader';
export * from './fail-fast';
export * from './tls';
