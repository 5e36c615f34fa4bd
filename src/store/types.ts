/** Shapes of the event log, shared by the store and its readers. */

export const STREAM_TYPES = ['task', 'agent_session', 'flow_run', 'pending_change'] as const;
export type StreamType = (typeof STREAM_TYPES)[number];

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface StreamRef {
  type: StreamType;
  id: string;
}

/** An event about to be appended. */
export interface NewEvent {
  /** Past tense, prefixed by the stream type: `task.claimed`. */
  type: string;
  data: JsonObject;
  /** state_after, machine_version, causation_id, correlation_id, actor… */
  meta?: JsonObject;
}

/** Where a gap-safe reader stands in the global order `(tx_id, position)`. */
export interface Checkpoint {
  txId: number;
  position: number;
}

export const START: Checkpoint = Object.freeze({ txId: 0, position: 0 });

export interface StoredEvent {
  position: number;
  txId: number;
  streamType: StreamType;
  streamId: string;
  version: number;
  type: string;
  data: JsonObject;
  meta: JsonObject;
  createdAt: Date;
}
