/** The `flow_runs` read table: one row per flow run stream. */
import { at, requireRow, stateAfter, type Projection, type Row } from './types.ts';

const ENDED = new Set(['completed', 'failed', 'cancelled']);

export const flowRunsProjection: Projection = {
  table: 'flow_runs',
  key: ['id'],
  columns: [
    'id',
    'project_id',
    'flow_name',
    'band',
    'model',
    'status',
    'input',
    'report',
    'error',
    'created_at',
    'ended_at',
    'updated_at',
    'version',
  ],
  streamTypes: ['flow_run'],
  keysOf: (event) => [{ id: event.streamId }],
  evolve(row, event): Row | null {
    const after = stateAfter(event);
    const ended = ENDED.has(after.value);
    if (event.type === 'flow_run.created') {
      const d = event.data;
      return {
        id: event.streamId,
        project_id: d.project_id ?? null,
        flow_name: d.flow_name!,
        band: d.band!,
        model: d.model ?? null,
        status: after.value,
        input: d.input!,
        report: null,
        error: after.error ?? null,
        created_at: at(event),
        ended_at: ended ? at(event) : null,
        updated_at: at(event),
        version: event.version,
      };
    }
    const before = requireRow(row, 'flow_runs', event);
    return {
      ...before,
      status: after.value,
      error: after.error ?? null,
      ended_at: before.ended_at ?? (ended ? at(event) : null),
      updated_at: at(event),
      version: event.version,
    };
  },
};
