/** The `pending_changes` read table: one row per proposed file change. */
import { at, requireRow, stateAfter, type Projection, type Row } from './types.ts';

export const pendingChangesProjection: Projection = {
  table: 'pending_changes',
  key: ['id'],
  columns: [
    'id',
    'session_id',
    'task_id',
    'file_path',
    'operation',
    'diff',
    'status',
    'agent',
    'reason',
    'created_at',
    'updated_at',
    'version',
  ],
  streamTypes: ['pending_change'],
  keysOf: (event) => [{ id: event.streamId }],
  evolve(row, event): Row | null {
    const d = event.data;
    const status = stateAfter(event).value;
    if (event.type === 'pending_change.proposed') {
      return {
        id: event.streamId,
        session_id: d.session_id ?? null,
        task_id: d.task_id!,
        file_path: d.file_path!,
        operation: d.operation!,
        diff: d.diff!,
        status,
        agent: d.agent ?? null,
        reason: null,
        created_at: at(event),
        updated_at: at(event),
        version: event.version,
      };
    }
    const before = requireRow(row, 'pending_changes', event);
    return {
      ...before,
      status,
      reason: event.type === 'pending_change.rejected' ? (d.reason ?? null) : before.reason!,
      updated_at: at(event),
      version: event.version,
    };
  },
};
