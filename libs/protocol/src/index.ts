export * from './close-codes';
export * from './frames';
export * from './validation';
export * from './preferences';
