/** Every read model, in the order they are applied. */
import { agentSessionsProjection } from './agent-sessions.ts';
import { flowRunsProjection } from './flow-runs.ts';
import { flowStepsProjection } from './flow-steps.ts';
import { humanInboxProjection } from './human-inbox.ts';
import { pendingChangesProjection } from './pending-changes.ts';
import { tasksProjection } from './tasks.ts';
import type { Projection } from './types.ts';

export const PROJECTIONS: readonly Projection[] = [
  tasksProjection,
  flowRunsProjection,
  flowStepsProjection,
  agentSessionsProjection,
  pendingChangesProjection,
  humanInboxProjection,
];
