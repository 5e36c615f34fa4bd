/**
 * The inline projection as a runtime wires it: the read rows an event changes are written
 * with it (in its statement or its transaction), served from one row cache that forgets the
 * streams of a failed transaction.
 */
import type pg from 'pg';
import type { StoredEvent } from '../store/types.ts';
import { planProjection, projectEvents } from './project.ts';
import { createRowCache } from './row-cache.ts';
import type { Projection } from './types.ts';

export function inlineProjections(options: { projections?: readonly Projection[] } = {}) {
  const cache = createRowCache();
  const project = { cache, ...(options.projections ? { projections: options.projections } : {}) };
  return {
    inline: (tx: pg.PoolClient, event: StoredEvent) => projectEvents(tx, [event], project),
    planInline: (db: pg.Pool, event: StoredEvent) => planProjection(db, [event], project),
    onRollback: (streamIds: readonly string[]) => cache.forget(streamIds),
  };
}
