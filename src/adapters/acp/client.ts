/**
 * The ACP transport: the agent runs as a child process speaking the Agent Client Protocol over
 * stdio (newline-delimited JSON-RPC), and boocoder is its client.
 *
 *   initialize → session/load (a chat's session, when the agent can) or session/new in the
 *   working directory → [read-only: session/set_mode to a mode that cannot write] →
 *   session/prompt → session/update notifications until the prompt returns a stop reason.
 *
 * Along the way the agent may ask us: `session/request_permission` blocks the task on a
 * person's answer (an inbox item), `fs/read_text_file` / `fs/write_text_file` are served
 * inside the working directory only, and in review mode a write becomes a pending change
 * (the disk is untouched; later reads in the same run see the proposed content). Aborting
 * sends `session/cancel`, then the process group is killed if it does not stop in time.
 * One process per turn: a chat's continuity comes from `session/load`.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import {
  client,
  methods,
  ndJsonStream,
  PROTOCOL_VERSION,
  RequestError,
  type ClientContext,
  type PromptResponse,
  type RequestPermissionResponse,
  type SessionModeState,
} from '@agentclientprotocol/sdk/unstable';
import { VERSION } from '../../version.ts';
import { AgentAborted, type Agent, type AgentResult, type AgentRun } from '../agent.ts';
import { agentEnv } from '../agent-env.ts';
import { createCoalescer } from '../coalesce.ts';
import type { CliAgentOptions } from '../definitions.ts';
import { confine, readIfExists, writeAtomically } from '../file-changes.ts';
import { findOnPath } from '../probe.ts';
import { chooseOption, permissionQuestion, rejection } from './permissions.ts';
import { createUpdateRenderer, turnUsage } from './session-updates.ts';

export type AcpOptions = CliAgentOptions;

/** Why a turn stopped, when it is not a plain success. */
const STOP_FAILURES: Record<string, string> = {
  max_tokens: 'the model reached its token limit',
  max_turn_requests: 'the agent reached its limit of model requests for one turn',
  refusal: 'the agent refused to continue',
  cancelled: 'the agent cancelled the turn',
};

/** The summary of a turn: the end of what the agent said. */
function summarize(message: string): string {
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return (lines.at(-1) ?? '').slice(0, 300) || 'done';
}

class TurnFailed extends Error {}

export function createAcpAgent(options: AcpOptions): Agent {
  const { definition } = options;
  const killGraceMs = options.killGraceMs ?? 2000;
  return {
    name: definition.name,
    executionPath: 'acp',
    configHash: createHash('sha256').update(JSON.stringify(definition)).digest('hex').slice(0, 16),
    async run(run: AgentRun): Promise<AgentResult> {
      const { workdir, signal, report } = run;
      const file = await findOnPath(definition.binary, options.searchPath);
      if (!file) {
        return {
          status: 'failed',
          error: `agent "${definition.name}": "${definition.binary}" is not on PATH`,
        };
      }
      const isDirectory = await fs.stat(workdir).then(
        (s) => s.isDirectory(),
        () => false,
      );
      if (!isDirectory)
        return { status: 'failed', error: `working directory ${workdir} does not exist` };
      if (signal.aborted) throw new AgentAborted(signal.reason);

      const child = spawn(file, definition.acpArgs ?? [], {
        cwd: workdir,
        env: agentEnv(definition, options.searchPath, workdir),
        // Its own process group, so the agent and everything it started can be killed at once.
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const killGroup = (sig: NodeJS.Signals) => {
        try {
          if (child.pid) process.kill(-child.pid, sig);
        } catch {
          // already gone
        }
      };
      let stderrTail = '';
      child.stderr.on('data', (data: Buffer) => {
        stderrTail = (stderrTail + data.toString('utf8')).slice(-2000);
      });
      // A write to a dead agent's stdin must not take the server down.
      child.stdin.on('error', () => undefined);
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
        (resolve) => {
          child.once('exit', (code, sig) => resolve({ code, signal: sig }));
          child.once('error', () => resolve({ code: null, signal: null }));
        },
      );
      const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

      const out = createCoalescer((chunk) => report.output(chunk), {
        flushMs: options.flushMs ?? 100,
        flushBytes: options.flushBytes ?? 4096,
        onFailure: () => killGroup('SIGKILL'),
      });
      const render = createUpdateRenderer();
      let message = '';
      let sessionId: string | null = null;
      // Updates replayed by session/load are history, not this turn's output.
      let recording = false;
      // Files proposed in this run (review mode): what the agent reads back is what it wrote.
      const proposed = new Map<string, string | null>();
      const writes = run.readOnly ? 'review' : run.writes;

      const fileFor = async (requested: string, what: string) => {
        const file = await confine(workdir, requested);
        if (!file) {
          await out.drain();
          out.push(`[refused] ${what} ${requested}: outside the working directory\n`);
          throw RequestError.invalidParams(
            { path: requested },
            `${requested} is outside the working directory ${workdir}`,
          );
        }
        return file;
      };

      const app = client({ name: 'boocoder' })
        .onNotification(methods.client.session.update, ({ params }) => {
          if (!recording || params.sessionId !== sessionId) return;
          const effect = render(params.update);
          if (effect.message) message += effect.message;
          if (effect.output) out.push(effect.output);
        })
        .onRequest(
          methods.client.session.requestPermission,
          async ({ params }): Promise<RequestPermissionResponse> => {
            if (run.readOnly) {
              // Nobody may say yes in a read-only run; saying no needs nobody.
              const no = rejection(params.options);
              out.push(`[refused] ${params.toolCall.title ?? 'tool call'}: read-only run\n`);
              return {
                outcome: no
                  ? { outcome: 'selected', optionId: no.optionId }
                  : { outcome: 'cancelled' },
              };
            }
            // What the agent said before asking is recorded before the question.
            await out.drain();
            try {
              const answer = await report.request(permissionQuestion(params));
              const option = chooseOption(params.options, answer);
              return {
                outcome: option
                  ? { outcome: 'selected', optionId: option.optionId }
                  : { outcome: 'cancelled' },
              };
            } catch (error) {
              if (signal.aborted || error instanceof AgentAborted)
                return { outcome: { outcome: 'cancelled' } };
              throw error;
            }
          },
        )
        .onRequest(methods.client.fs.readTextFile, async ({ params }) => {
          const file = await fileFor(params.path, 'read');
          const content = proposed.has(file) ? proposed.get(file)! : await readIfExists(file);
          if (content === null) throw RequestError.resourceNotFound(params.path);
          if (params.line == null && params.limit == null) return { content };
          const lines = content.split('\n');
          const start = Math.max(0, (params.line ?? 1) - 1);
          return { content: lines.slice(start, start + (params.limit ?? lines.length)).join('\n') };
        })
        .onRequest(methods.client.fs.writeTextFile, async ({ params }) => {
          const file = await fileFor(params.path, 'write');
          if (writes === 'review') {
            const before = proposed.has(file) ? proposed.get(file)! : await readIfExists(file);
            const root = await fs.realpath(workdir);
            await out.drain();
            await report.proposeChange({
              filePath: path.relative(root, file),
              before,
              after: params.content,
            });
            proposed.set(file, params.content);
            out.push(`[review] proposed a change to ${path.relative(root, file)}\n`);
          } else {
            await writeAtomically(file, params.content);
          }
          return {};
        });

      const stream = ndJsonStream(
        Writable.toWeb(child.stdin) as WritableStream<Uint8Array>,
        Readable.toWeb(child.stdout),
      );

      let timedOut = false;
      let cancelSent = false;
      let agentContext: ClientContext | undefined;
      const cancel = () => {
        // Before there is a session there is nothing to cancel politely.
        if (!sessionId) killGroup('SIGTERM');
        if (agentContext && sessionId && !cancelSent) {
          cancelSent = true;
          void agentContext
            .notify(methods.agent.session.cancel, { sessionId })
            .catch(() => undefined);
        }
        // An agent that does not honour the cancel in time goes anyway.
        setTimeout(() => killGroup('SIGKILL'), killGraceMs).unref();
      };
      const onAbort = () => cancel();
      signal.addEventListener('abort', onAbort, { once: true });
      const limit = setTimeout(() => {
        timedOut = true;
        cancel();
      }, options.timeoutMs);

      const turn = async (ctx: ClientContext): Promise<PromptResponse> => {
        agentContext = ctx;
        const init = await ctx.request(methods.agent.initialize, {
          protocolVersion: PROTOCOL_VERSION,
          clientCapabilities: { fs: { readTextFile: true, writeTextFile: true }, terminal: false },
          clientInfo: { name: 'boocoder', version: VERSION },
        });
        let modes: SessionModeState | null | undefined;
        const resumeId = run.session?.resumeId;
        if (resumeId && init.agentCapabilities?.loadSession) {
          try {
            const loaded = await ctx.request(methods.agent.session.load, {
              sessionId: resumeId,
              cwd: workdir,
              mcpServers: [],
            });
            sessionId = resumeId;
            modes = loaded?.modes;
          } catch {
            // The agent no longer has it: a fresh session, recorded as such below.
          }
        }
        if (!sessionId) {
          const created = await ctx.request(methods.agent.session.new, {
            cwd: workdir,
            mcpServers: [],
          });
          sessionId = created.sessionId;
          modes = created.modes;
          await run.session?.attach(sessionId);
        }
        if (run.readOnly) {
          const offered = modes?.availableModes.map((m) => m.id) ?? [];
          const mode = definition.acpReadOnlyModes.find((m) => offered.includes(m));
          if (!mode) {
            throw new TurnFailed(
              `agent "${definition.name}" offers no read-only session mode (offered: ${offered.join(', ') || 'none'}; accepted: ${definition.acpReadOnlyModes.join(', ')}); refusing to run it in a mode that can write`,
            );
          }
          if (modes?.currentModeId !== mode) {
            await ctx.request(methods.agent.session.setMode, { sessionId, modeId: mode });
          }
        }
        if (signal.aborted) throw new AgentAborted(signal.reason);
        recording = true;
        return ctx.request(methods.agent.session.prompt, {
          sessionId,
          prompt: [{ type: 'text', text: run.input }],
        });
      };

      let outcome:
        | { kind: 'stopped'; response: PromptResponse }
        | { kind: 'error'; error: unknown }
        | { kind: 'spawn'; error: Error }
        | { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null };
      try {
        outcome = await Promise.race([
          app.connectWith(stream, turn).then(
            (response) => ({ kind: 'stopped' as const, response }),
            (error: unknown) => ({ kind: 'error' as const, error }),
          ),
          spawnError.then((error) => ({ kind: 'spawn' as const, error })),
          // The agent died mid-turn: a crash, whatever the connection still says.
          exited.then((e) => ({ kind: 'exit' as const, ...e })),
        ]);
      } finally {
        clearTimeout(limit);
        signal.removeEventListener('abort', onAbort);
      }
      // A connection that broke because the process died (not because we stopped it) is a
      // crash: the exit may be noticed a moment after the broken pipe.
      if (
        outcome.kind === 'error' &&
        !signal.aborted &&
        !timedOut &&
        !(outcome.error instanceof TurnFailed)
      ) {
        const died = await Promise.race([
          exited,
          new Promise<null>((r) => setTimeout(() => r(null), 200).unref()),
        ]);
        if (died) outcome = { kind: 'exit', ...died };
      }
      // The turn is over: the agent gets a moment to exit on its own, then its group goes.
      child.stdin.end();
      const gone = await Promise.race([
        exited.then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), killGraceMs).unref()),
      ]);
      if (!gone) killGroup('SIGTERM');
      killGroup('SIGKILL');
      await out.drain();

      if (signal.aborted || out.failure !== undefined) throw new AgentAborted(signal.reason);
      const who = `agent "${definition.name}"`;
      if (timedOut) {
        return {
          status: 'failed',
          error: `${who} ran longer than ${options.timeoutMs} ms and was stopped`,
        };
      }
      const stderr = stderrTail.trim().split('\n').at(-1)?.slice(0, 300) ?? '';
      switch (outcome.kind) {
        case 'spawn':
          return { status: 'failed', error: `${who} could not start: ${outcome.error.message}` };
        case 'exit':
          return {
            status: 'failed',
            crashed: true,
            error: `${who} exited mid-turn with ${outcome.signal ? `signal ${outcome.signal}` : `code ${outcome.code}`}${stderr ? `: ${stderr}` : ''}`,
          };
        case 'error': {
          const error = outcome.error;
          if (error instanceof AgentAborted) throw error;
          if (error instanceof TurnFailed) return { status: 'failed', error: error.message };
          const text = error instanceof Error ? error.message : String(error);
          return { status: 'failed', error: `${who}: ${text}` };
        }
        case 'stopped': {
          const usage = turnUsage(outcome.response.usage);
          if (usage) await report.usage(usage);
          const reason = outcome.response.stopReason;
          if (reason === 'end_turn') return { status: 'completed', summary: summarize(message) };
          return {
            status: 'failed',
            error: `${who} stopped: ${STOP_FAILURES[reason] ?? reason}`,
          };
        }
      }
    },
  };
}
