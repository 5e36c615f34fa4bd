/**
 * The built-in scripted agent: deterministic, in-process, no model. It reads its task's
 * input line by line:
 *   @sleep <ms>          wait (abortable)
 *   @say <text>          emit <text> as output
 *   @usage <in> <out>    report token usage
 *   @fail <reason>       end failed
 *   anything else        echoed as output
 * and ends completed with a summary naming the first line. The default agent of a fresh
 * `npm start`, of the tests and of the benchmarks.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentAborted, type Agent, type AgentResult, type AgentRun } from './agent.ts';

export const SCRIPTED = 'scripted';

async function wait(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    throw new AgentAborted(signal.reason);
  }
}

export const scriptedAgent: Agent = {
  name: SCRIPTED,
  executionPath: 'scripted',
  async run({ input, signal, report }: AgentRun): Promise<AgentResult> {
    const lines = input.split('\n');
    for (const line of lines) {
      if (signal.aborted) throw new AgentAborted(signal.reason);
      const [directive, ...rest] = line.trim().split(/\s+/);
      const argument = line
        .trim()
        .slice((directive ?? '').length)
        .trim();
      switch (directive) {
        case '@sleep':
          await wait(Math.max(0, Number(rest[0]) || 0), signal);
          break;
        case '@say':
          await report.output(argument + '\n');
          break;
        case '@usage':
          await report.usage({
            inputTokens: Math.max(0, Math.trunc(Number(rest[0]) || 0)),
            outputTokens: Math.max(0, Math.trunc(Number(rest[1]) || 0)),
            costTokens: Math.max(
              0,
              Math.trunc(Number(rest[0]) || 0) + Math.trunc(Number(rest[1]) || 0),
            ),
          });
          break;
        case '@fail':
          return { status: 'failed', error: argument || 'scripted failure' };
        default:
          if (line.trim() !== '') await report.output(line + '\n');
      }
    }
    const first = lines.find((l) => l.trim() !== '' && !l.trim().startsWith('@'))?.trim() ?? '';
    return { status: 'completed', summary: first ? `done: ${first.slice(0, 200)}` : 'done' };
  },
};
