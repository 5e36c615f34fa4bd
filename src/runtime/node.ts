/**
 * One boocoder process's core: the actor runtime wired to the read tables (inline
 * projections) and to its effects (flows, and the worker's agents when this process runs
 * one). `boocoder start` and `boocoder worker` both stand on this.
 */
import path from 'node:path';
import { loadAgentDefinitions } from '../adapters/definitions.ts';
import { buildAgents } from '../adapters/index.ts';
import { probeAgents, recordProbe } from '../adapters/probe.ts';
import type { Agent } from '../adapters/agent.ts';
import type { Config } from '../config.ts';
import { inlineProjections } from '../projections/inline.ts';
import type { Database } from '../store/database.ts';
import { createEventStore } from '../store/events.ts';
import { createSnapshotStore } from '../store/snapshots.ts';
import { createRuntime, type Runtime } from './actor-host.ts';
import { changeEffects } from './changes.ts';
import { flowEffects, resumeFlows } from './flows.ts';
import { createWorker, type Worker } from './worker.ts';

export type Log = (
  level: 'info' | 'warn' | 'error',
  message: string,
  extra?: Record<string, unknown>,
) => void;

export interface Node {
  runtime: Runtime;
  worker: Worker | undefined;
  /** Stops the worker (grace period, then release) and waits for effects in flight. */
  stop(graceMs: number): Promise<void>;
}

export async function startNode(
  config: Config,
  database: Database,
  options: { worker: boolean; log?: Log; agents?: ReadonlyMap<string, Agent> },
): Promise<Node> {
  const log: Log = options.log ?? (() => undefined);
  const store = createEventStore(database.pool);
  let worker: Worker | undefined;
  let probing: Promise<void> = Promise.resolve();
  const runtime = createRuntime({
    pool: database.pool,
    store,
    snapshots: createSnapshotStore(database.pool),
    snapshotEvery: config.snapshotEvery,
    // Read tables change with the event that changes them, in its statement or transaction.
    ...inlineProjections(),
    effects: {
      ...flowEffects(),
      ...changeEffects(),
      startAgent: (ctx) => worker?.effects.startAgent(ctx),
      abortAgent: (ctx) => worker?.effects.abortAgent(ctx),
      deliverAnswer: (ctx) => worker?.effects.deliverAnswer(ctx),
    },
    onEffectError: (error, effect) =>
      log('error', `effect ${effect.name} failed`, {
        stream_id: effect.actor.streamId,
        err: String(error),
      }),
  });
  // Runs left mid-way by a previous process pick up where they were.
  await resumeFlows(database.pool, runtime);
  if (options.worker) {
    const definitions = await loadAgentDefinitions(config.agentsFile);
    // What is installed here, for the API to show; the worker does not wait for it.
    probing = probeAgents(definitions, { searchPath: config.agentPath })
      .then((found) => recordProbe(database.pool, found, new Date()))
      .catch((error: unknown) => log('warn', 'agent probe failed', { err: String(error) }));
    worker = createWorker({
      pool: database.pool,
      runtime,
      connectionString: database.url,
      workerId: config.workerId,
      concurrency: config.concurrency,
      leaseMs: config.leaseMs,
      pollMs: config.pollMs,
      sweepMs: config.sweepMs,
      agents:
        options.agents ??
        buildAgents(definitions, {
          searchPath: config.agentPath,
          timeoutMs: config.agentTimeoutMs,
          openai: config.openai,
          scriptedAcpStateDir: path.join(config.dataDir, 'scripted-acp'),
        }),
      defaultAgent: config.defaultAgent,
      workdir: config.workdir,
      log,
    });
    await worker.start();
  }
  return {
    runtime,
    worker,
    async stop(graceMs) {
      if (worker) {
        const { finished, released } = await worker.stop(graceMs);
        log('info', 'worker stopped', { finished, released });
      }
      await runtime.drain();
      await probing;
    },
  };
}
