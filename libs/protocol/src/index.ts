export * from './close-codes';
export * from './frames';
export * from './storable-text';
export * from './validation';
export * from './preferences';
