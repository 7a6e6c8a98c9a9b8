export * from './correlation';
export * from './json-logger';
export * from './levels';
export * from './root-logger';
