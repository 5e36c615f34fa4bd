/**
 * A worker: claims pending tasks into its slots and runs each on its agent.
 *
 * Wake-ups: NOTIFY tasks_new (instant), a slow fallback poll (lost notifications), and an
 * immediate poll after the listener reconnects. Each running task's lease is extended on a
 * heartbeat; a task this worker no longer holds (cancelled elsewhere, lease expired and taken
 * by another worker) is noticed through NOTIFY events, a refused send or the heartbeat, and
 * its agent is aborted. On stop: no new claims, running tasks get a grace period, then the
 * rest are released to other workers.
 */
import { randomUUID } from 'node:crypto';
import {
  AgentAborted,
  type Agent,
  type AgentRequest,
  type AgentResult,
  type AgentUsage,
  type ProposedChange,
} from '../adapters/agent.ts';
import { describeChange } from '../adapters/unified-diff.ts';
import { ConcurrencyError, IllegalStateError } from '../errors.ts';
import type { TaskContext } from '../machines/task.ts';
import { listen, parseEventsPayload, type Listener } from '../store/listener.ts';
import type pg from 'pg';
import type { Command, EffectContext, Runtime } from './actor-host.ts';
import { beginTurn, ChatBusy, type Turn } from './chat-sessions.ts';
import { claimPending } from './claim.ts';
import { sweepExpiredLeases } from './lease-sweeper.ts';

export interface WorkerOptions {
  pool: pg.Pool;
  runtime: Runtime;
  connectionString: string;
  workerId: string;
  concurrency: number;
  leaseMs: number;
  pollMs: number;
  sweepMs: number;
  agents: ReadonlyMap<string, Agent>;
  defaultAgent: string;
  /** Where agents work when a task names no workdir. */
  workdir: string;
  now?: () => Date;
  log?: (
    level: 'info' | 'warn' | 'error',
    message: string,
    extra?: Record<string, unknown>,
  ) => void;
}

interface Running {
  controller: AbortController;
  done: Promise<void>;
  /** The task's version as this worker last wrote it (its end may have left the cache). */
  version: number;
}

export interface Worker {
  readonly workerId: string;
  start(): Promise<void>;
  /** Stop claiming; wait up to `graceMs` for running tasks, then release the rest. */
  stop(graceMs: number): Promise<{ finished: number; released: number }>;
  /** Claim now (as a tasks_new notification would). */
  wake(): void;
  /** Task ids this worker is running. */
  running(): string[];
  /** Effect handlers the runtime calls after a claim, a cancel or an answer commits. */
  effects: {
    startAgent(ctx: EffectContext): void;
    abortAgent(ctx: EffectContext): void;
    deliverAnswer(ctx: EffectContext): void;
  };
}

/** The task mode that must never write (read-only flows). */
export const READ_ONLY_MODE = 'read_only';
/** The task mode whose file writes wait for review as pending changes. */
export const REVIEW_MODE = 'review';

/** An agent's question waiting for a person's answer. */
interface Waiting {
  requestId: string;
  resolve(answer: string): void;
}

const ANSWER = `
  select data->>'answer' as answer from events
  where stream_id = $1 and type = 'task.request_answered' and data->>'request_id' = $2`;

/** Stops waiting when a refused send tells the agent its task is no longer its own. */
class LostTask extends Error {}

export function createWorker(options: WorkerOptions): Worker {
  const { runtime, workerId } = options;
  const now = options.now ?? (() => new Date());
  const log = options.log ?? (() => undefined);
  const running = new Map<string, Running>();
  const waiting = new Map<string, Waiting>();
  const timers: NodeJS.Timeout[] = [];
  let listener: Listener | undefined;
  let stopping = false;
  let claiming: Promise<void> | undefined;
  let claimAgain = false;

  const at = () => now().toISOString();

  async function claimLoop(): Promise<void> {
    do {
      claimAgain = false;
      while (!stopping) {
        const free = options.concurrency - running.size;
        if (free <= 0) break;
        let claimed: string[];
        try {
          claimed = await claimPending(runtime, workerId, free, options.leaseMs, now);
        } catch (error) {
          log('warn', 'claim failed; will retry on the next wake-up', { err: String(error) });
          return;
        }
        if (claimed.length < free) break;
      }
    } while (claimAgain && !stopping);
  }

  function wake(): void {
    if (stopping) return;
    if (claiming) {
      claimAgain = true;
      return;
    }
    claiming = claimLoop().finally(() => {
      claiming = undefined;
    });
  }

  /** Sends for a task this worker runs; a refusal means the task is no longer ours. */
  async function sendOwn(taskId: string, command: Command): Promise<void> {
    try {
      const sent = await runtime.send('task', taskId, command);
      const entry = running.get(taskId);
      if (entry) entry.version = Math.max(entry.version, sent.version);
    } catch (error) {
      if (error instanceof IllegalStateError) {
        abort(taskId, 'the task is no longer held by this worker');
        throw new LostTask(error.message);
      }
      throw error;
    }
  }

  function abort(taskId: string, reason: string): void {
    const run = running.get(taskId);
    if (run && !run.controller.signal.aborted) {
      log('info', 'aborting agent', { task_id: taskId, reason });
      run.controller.abort(reason);
    }
  }

  async function runTask(taskId: string, context: TaskContext, controller: AbortController) {
    const agentName = context.agent ?? options.defaultAgent;
    const agent = options.agents.get(agentName);
    const signal = controller.signal;
    try {
      if (!agent) {
        await sendOwn(taskId, {
          type: 'task.failed',
          error: `unknown agent "${agentName}"`,
          at: at(),
        });
        return;
      }
      let turn: Turn | undefined;
      if (context.chatId) {
        try {
          turn = await beginTurn(options.pool, runtime, {
            chatId: context.chatId,
            agent,
            turnId: taskId,
            at: at(),
          });
        } catch (error) {
          if (!(error instanceof ChatBusy)) throw error;
          await sendOwn(taskId, { type: 'task.failed', error: error.message, at: at() });
          return;
        }
      }
      const used: AgentUsage = { inputTokens: 0, outputTokens: 0, costTokens: 0 };
      let turnOpen = turn !== undefined;
      // The turn ends however the task does (cancelled included), and before the task's own
      // end is recorded: whoever sees the task end finds the chat free for the next turn.
      const endTurn = async (crash?: string) => {
        if (!turnOpen) return;
        turnOpen = false;
        await (crash === undefined ? turn!.finish(used, at()) : turn!.crash(crash, at()));
      };
      try {
        await runAgent(taskId, context, agent, signal, used, endTurn, turn);
      } finally {
        await endTurn();
      }
    } catch (error) {
      if (error instanceof LostTask) return;
      log('error', 'task run failed', { task_id: taskId, err: String(error) });
      // Our own fault, not the agent's: the task says so rather than waiting out its lease.
      if (!signal.aborted) {
        await sendOwn(taskId, {
          type: 'task.failed',
          error: `boocoder could not run the task: ${error instanceof Error ? error.message : String(error)}`,
          at: at(),
        }).catch(() => undefined);
      }
    }
  }

  async function runAgent(
    taskId: string,
    context: TaskContext,
    agent: Agent,
    signal: AbortSignal,
    used: AgentUsage,
    endTurn: (crash?: string) => Promise<void>,
    turn: Turn | undefined,
  ): Promise<void> {
    const workdir = context.workdir ?? options.workdir;
    const readOnly = context.modeId === READ_ONLY_MODE;
    // One question at a time: a task is blocked on at most one request.
    let asking: Promise<unknown> = Promise.resolve();
    await sendOwn(taskId, {
      type: 'task.started',
      agent: agent.name,
      model: context.model,
      execution_path: agent.executionPath,
      at: at(),
    });
    let result: AgentResult;
    try {
      result = await agent.run({
        taskId,
        input: context.input,
        model: context.model,
        workdir,
        readOnly,
        writes: readOnly || context.modeId === REVIEW_MODE ? 'review' : 'disk',
        signal,
        ...(turn && {
          session: {
            resumeId: turn.resumeId,
            attach: (agentSessionId: string) => turn.attach(agentSessionId, at()),
          },
        }),
        report: {
          output: (chunk) => sendOwn(taskId, { type: 'task.output_appended', chunk, at: at() }),
          usage: (u) => {
            used.inputTokens += u.inputTokens;
            used.outputTokens += u.outputTokens;
            used.costTokens += u.costTokens;
            return sendOwn(taskId, {
              type: 'task.usage_recorded',
              input_tokens: u.inputTokens,
              output_tokens: u.outputTokens,
              cost_tokens: u.costTokens,
              at: at(),
            });
          },
          request: (request) => {
            const answer = asking.then(() => ask(taskId, request, signal));
            asking = answer.catch(() => undefined);
            return answer;
          },
          proposeChange: (change) => propose(taskId, agent, workdir, turn, change),
        },
      });
    } catch (error) {
      if (signal.aborted || error instanceof AgentAborted || error instanceof LostTask) return;
      result = {
        status: 'failed',
        error: error instanceof Error ? error.message : String(error),
      };
    }
    // Aborted (cancelled, released, lease lost): whatever the agent says now is not recorded.
    if (signal.aborted) return;
    await endTurn(result.status === 'failed' && result.crashed ? result.error : undefined);
    await sendOwn(
      taskId,
      result.status === 'completed'
        ? { type: 'task.completed', output_summary: result.summary, at: at() }
        : { type: 'task.failed', error: result.error, at: at() },
    );
  }

  /** Blocks the task on the agent's question and waits for the answer (or the abort). */
  async function ask(taskId: string, request: AgentRequest, signal: AbortSignal): Promise<string> {
    if (signal.aborted) throw new AgentAborted(signal.reason);
    const requestId = randomUUID();
    let onAbort = () => undefined as void;
    const answer = new Promise<string>((resolve, reject) => {
      waiting.set(taskId, { requestId, resolve });
      onAbort = () => reject(new AgentAborted(signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    answer.catch(() => undefined);
    try {
      await sendOwn(taskId, {
        type: 'task.blocked',
        request_id: requestId,
        kind: request.kind,
        prompt: request.prompt,
        options: request.options,
        at: at(),
      });
      return await answer;
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (waiting.get(taskId)?.requestId === requestId) waiting.delete(taskId);
    }
  }

  /** An answer recorded by another process reaches us as a new version: look it up. */
  async function answeredElsewhere(taskId: string): Promise<void> {
    const wait = waiting.get(taskId);
    if (!wait) return;
    const { rows } = await options.pool.query<{ answer: string }>(ANSWER, [taskId, wait.requestId]);
    if (rows[0]) wait.resolve(rows[0].answer);
  }

  async function propose(
    taskId: string,
    agent: Agent,
    workdir: string,
    turn: Turn | undefined,
    change: ProposedChange,
  ): Promise<void> {
    const { operation, diff } = describeChange(change.filePath, change.before, change.after);
    await runtime.send('pending_change', randomUUID(), {
      type: 'pending_change.proposed',
      task_id: taskId,
      session_id: turn?.sessionId ?? null,
      workdir,
      file_path: change.filePath,
      operation,
      diff,
      before: change.before,
      after: change.after,
      agent: agent.name,
      at: at(),
    });
  }

  function deliverAnswer({ actor, event }: EffectContext): void {
    const wait = waiting.get(actor.streamId);
    const data = event.data as { request_id?: unknown; answer?: unknown };
    if (wait && data.request_id === wait.requestId && typeof data.answer === 'string')
      wait.resolve(data.answer);
  }

  function startAgent({ actor }: EffectContext): void {
    const context = actor.snapshot.context as TaskContext;
    if (context.leaseOwner !== workerId || running.has(actor.streamId)) return;
    const controller = new AbortController();
    const entry: Running = { controller, done: Promise.resolve(), version: actor.version };
    running.set(actor.streamId, entry);
    entry.done = runTask(actor.streamId, context, controller).finally(() => {
      running.delete(actor.streamId);
      wake();
    });
  }

  /** Re-reads a task we run and aborts its agent if it is no longer ours to run. */
  async function recheck(taskId: string): Promise<void> {
    if (!running.has(taskId)) return;
    runtime.forget(taskId);
    const { snapshot } = await runtime.load('task', taskId);
    const context = snapshot.context as TaskContext;
    const ours =
      (snapshot.value === 'running' || snapshot.value === 'blocked') &&
      context.leaseOwner === workerId;
    if (ours && snapshot.value === 'running') await answeredElsewhere(taskId);
    if (!ours)
      abort(
        taskId,
        `task is ${JSON.stringify(snapshot.value)} and held by ${context.leaseOwner ?? 'nobody'}`,
      );
  }

  async function heartbeat(): Promise<void> {
    // A missed notification must not leave a question waiting for an answer already given.
    for (const taskId of [...waiting.keys()]) await recheck(taskId).catch(() => undefined);
    for (const taskId of [...running.keys()]) {
      try {
        await sendOwn(taskId, {
          type: 'task.lease_extended',
          worker_id: workerId,
          lease_expires_at: new Date(now().getTime() + options.leaseMs).toISOString(),
          at: at(),
        });
      } catch (error) {
        if (!(error instanceof LostTask) && !(error instanceof ConcurrencyError)) {
          log('warn', 'lease extension failed', { task_id: taskId, err: String(error) });
        }
      }
    }
  }

  function every(ms: number, fn: () => Promise<void> | void): void {
    const timer = setInterval(() => {
      Promise.resolve(fn()).catch((error: unknown) =>
        log('warn', 'periodic job failed', { err: String(error) }),
      );
    }, ms);
    timer.unref();
    timers.push(timer);
  }

  return {
    workerId,
    effects: {
      startAgent,
      abortAgent: ({ actor }) => abort(actor.streamId, 'cancelled'),
      deliverAnswer,
    },
    async start() {
      listener = await listen({
        connectionString: options.connectionString,
        channels: ['tasks_new', 'events'],
        onNotify: (channel, payload) => {
          if (channel === 'tasks_new') return wake();
          const { streamId, version } = parseEventsPayload(payload);
          // Our own writes come back too: only a version we do not know means someone else wrote.
          const run = running.get(streamId);
          if (run && Math.max(run.version, runtime.knownVersion(streamId) ?? 0) < version) {
            void recheck(streamId).catch(() => undefined);
          }
        },
        // Anything may have been missed while disconnected.
        onReconnect: () => {
          wake();
          for (const id of running.keys()) void recheck(id).catch(() => undefined);
        },
        onError: (error) => log('warn', 'listener error', { err: error.message }),
      });
      every(options.pollMs, wake);
      every(Math.max(100, Math.floor(options.leaseMs / 3)), heartbeat);
      every(options.sweepMs, () =>
        sweepExpiredLeases(options.pool, runtime, now).then(() => undefined),
      );
      wake();
    },
    async stop(graceMs) {
      stopping = true;
      await claiming;
      const atStop = running.size;
      const deadline = Date.now() + graceMs;
      // A task waiting for a person's answer will not finish in a grace period: only the
      // others are waited for.
      const working = () => [...running.keys()].some((id) => !waiting.has(id));
      while (working() && Date.now() < deadline) {
        await Promise.race([
          Promise.all([...running.values()].map((r) => r.done)),
          new Promise((r) => setTimeout(r, Math.min(100, Math.max(0, deadline - Date.now())))),
        ]);
      }
      const left = [...running.entries()];
      let released = 0;
      for (const [taskId, run] of left) {
        run.controller.abort('worker shutting down');
        try {
          await runtime.send('task', taskId, {
            type: 'task.released',
            worker_id: workerId,
            at: at(),
          });
          released++;
        } catch (error) {
          if (!(error instanceof IllegalStateError)) throw error;
        }
      }
      await Promise.all(left.map(([, run]) => run.done));
      for (const timer of timers) clearInterval(timer);
      await listener?.close();
      return { finished: atStop - left.length, released };
    },
    wake,
    running: () => [...running.keys()],
  };
}
