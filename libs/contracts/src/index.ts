export * from './send-notification.dto';
export * from './custom-validators';
export * from './validation';
export * from './channel-message.dto';
export * from './validation-plan';
export * from './storable-json';
export * from './inbox.dto';
export * from './presence.dto';
