/**
 * The PTY transport: any CLI agent, spawned in the task's working directory under a
 * pseudo-terminal (node-pty), with a clean environment plus its configured variables. Its
 * prompt is one argument, never parsed by a shell; a fixed /bin/sh wrapper only reports its
 * exit once all its output has been read (pty-exit.ts).
 * Output is coalesced (at most one event per `flushMs` or `flushBytes`: a chatty agent must not
 * write an event per byte); exit code 0 completes the task, anything else fails it. Abort,
 * lease loss and the wall-clock limit kill the agent's whole process group.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import pty from 'node-pty';
import { agentEnv } from './agent-env.ts';
import { AgentAborted, type Agent, type AgentResult, type AgentRun } from './agent.ts';
import { createCoalescer } from './coalesce.ts';
import type { CliAgentOptions, AgentDefinition } from './definitions.ts';
import { findOnPath } from './probe.ts';
import { createExitScanner, wrappedArgs } from './pty-exit.ts';

export type PtyOptions = CliAgentOptions;

// eslint-disable-next-line no-control-regex -- terminal escape sequences are control characters
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007]*\u0007|\r/g;

function lastLine(text: string): string {
  const lines = text
    .replace(ANSI, '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return (lines.at(-1) ?? '').slice(0, 300);
}

export function promptArgs(
  definition: AgentDefinition,
  prompt: string,
  readOnly: boolean,
): string[] {
  const args = definition.args.map((a) =>
    a === '{prompt}' ? prompt : a.replaceAll('{prompt}', prompt),
  );
  return readOnly ? [...args, ...(definition.readOnlyArgs ?? [])] : args;
}

export function createPtyAgent(options: PtyOptions): Agent {
  const { definition } = options;
  const flushMs = options.flushMs ?? 100;
  const flushBytes = options.flushBytes ?? 4096;
  return {
    name: definition.name,
    executionPath: 'pty',
    configHash: createHash('sha256').update(JSON.stringify(definition)).digest('hex').slice(0, 16),
    async run({ input, workdir, readOnly, signal, report }: AgentRun): Promise<AgentResult> {
      if (readOnly && !definition.readOnlyArgs) {
        return {
          status: 'failed',
          error: `agent "${definition.name}" has no read-only mode; refusing to run it in a mode that can write`,
        };
      }
      const file = await findOnPath(definition.binary, options.searchPath);
      if (!file)
        return {
          status: 'failed',
          error: `agent "${definition.name}": "${definition.binary}" is not on PATH`,
        };
      if (
        !(await fs.stat(workdir).then(
          (s) => s.isDirectory(),
          () => false,
        ))
      ) {
        return { status: 'failed', error: `working directory ${workdir} does not exist` };
      }
      if (signal.aborted) throw new AgentAborted(signal.reason);

      const mark = `boocoder-exit-${randomBytes(8).toString('hex')}`;
      const child = pty.spawn(
        '/bin/sh',
        wrappedArgs(mark, file, promptArgs(definition, input, readOnly)),
        {
          name: 'xterm-256color',
          cols: 120,
          rows: 40,
          cwd: workdir,
          env: agentEnv(definition, options.searchPath, workdir, { TERM: 'xterm-256color' }),
        },
      );
      // node-pty starts the child as a session leader: its pid is its process group.
      const killGroup = (sig: NodeJS.Signals) => {
        try {
          process.kill(-child.pid, sig);
        } catch {
          try {
            child.kill(sig);
          } catch {
            // already gone
          }
        }
      };

      let tail = '';
      const out = createCoalescer((chunk) => report.output(chunk), {
        flushMs,
        flushBytes,
        onFailure: () => killGroup('SIGKILL'),
      });
      const scanner = createExitScanner(mark);
      const forward = (text: string) => {
        if (!text) return;
        tail = (tail + text).slice(-4096);
        out.push(text);
      };
      child.onData((data) => {
        const seen = scanner.code !== null;
        forward(scanner.push(data));
        // Everything the agent wrote has been read: let the wrapper exit.
        if (!seen && scanner.code !== null) child.write('\n');
      });

      let timedOut = false;
      let forceKill: NodeJS.Timeout | undefined;
      const stop = () => {
        killGroup('SIGTERM');
        forceKill = setTimeout(() => killGroup('SIGKILL'), options.killGraceMs ?? 2000);
      };
      const onAbort = () => stop();
      signal.addEventListener('abort', onAbort, { once: true });
      const limit = setTimeout(() => {
        timedOut = true;
        stop();
      }, options.timeoutMs);

      const exit = await new Promise<{ exitCode: number; signal?: number }>((resolve) =>
        child.onExit(resolve),
      );
      forward(scanner.flush());
      const exitCode = scanner.code ?? exit.exitCode;
      // Children the agent left behind in its group go with it.
      killGroup('SIGKILL');
      clearTimeout(limit);
      clearTimeout(forceKill);
      signal.removeEventListener('abort', onAbort);
      await out.drain();
      if (signal.aborted || out.failure !== undefined) throw new AgentAborted(signal.reason);
      if (timedOut)
        return {
          status: 'failed',
          error: `agent "${definition.name}" ran longer than ${options.timeoutMs} ms and was stopped`,
        };
      if (exitCode === 0) return { status: 'completed', summary: lastLine(tail) || 'done' };
      const last = lastLine(tail);
      return {
        status: 'failed',
        error: `agent "${definition.name}" exited with code ${exitCode}${exit.signal ? ` (signal ${exit.signal})` : ''}${last ? `: ${last}` : ''}`,
      };
    },
  };
}
