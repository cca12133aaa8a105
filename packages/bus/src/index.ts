export * from './bus.js';
export { InProcessBus, type InProcessBusOptions } from './in-process-bus.js';
export { JetStreamBus, connectJetStreamBus, type JetStreamBusOptions } from './jetstream-bus.js';
export { relaySignal, startRelay, toEnvelope, type Relay, type RelayOptions, type RelaySource } from './relay.js';
export { startConsumer, defaultRetryDelayMs, type ConsumerOptions } from './consumer.js';
export { loadRelayCheckpoint, saveRelayCheckpoint } from './checkpoints.js';
export { type Logger, silentLogger } from './log.js';
