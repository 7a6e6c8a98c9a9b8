export * from './build-info';
export * from './service-registry';
