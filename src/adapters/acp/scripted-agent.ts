/**
 * The scripted agent as a standalone ACP server over stdio (`bin/boocoder-scripted-acp.js`):
 * a real separate process that speaks the protocol the way coding agents do, deterministic,
 * no model. Every ACP path of boocoder is tested against it. It reads its prompt line by line:
 *
 *   @say <text>            an agent message chunk          @think <text>   a thought chunk
 *   @tool <title>          a tool call, then its completion @plan a | b     a plan
 *   @ask <title>           request permission; on a "no" it says so and stops (refusal)
 *   @write <path> <text>   fs/write_text_file (\n in text is a newline)
 *   @read <path>           fs/read_text_file, then says what it read
 *   @usage <in> <out>      token usage, reported with the prompt's response
 *   @sleep <ms>            wait; session/cancel ends the turn (stop reason cancelled)
 *   @fail <reason>         the prompt request fails with <reason>
 *   @refuse                stop reason refusal            @exit <code>    the process exits
 *   @history               says how many prompts this session has had (session/load works)
 *   anything else          said as is
 *
 * Sessions live in files under BOOCODER_SCRIPTED_ACP_STATE (default: the OS temp folder), so
 * a later process can `session/load` them. Modes: `default`, and `plan`, which cannot write.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  agent,
  methods,
  ndJsonStream,
  PROTOCOL_VERSION,
  RequestError,
  type AgentContext,
  type PromptResponse,
  type SessionModeState,
  type SessionUpdate,
} from '@agentclientprotocol/sdk/unstable';

interface SessionFile {
  cwd: string;
  prompts: number;
  mode: string;
}

const stateDir =
  process.env.BOOCODER_SCRIPTED_ACP_STATE ?? path.join(os.tmpdir(), 'boocoder-scripted-acp');
const sessionPath = (id: string) => path.join(stateDir, `${id.replace(/[^a-zA-Z0-9-]/g, '')}.json`);

async function readSession(id: string): Promise<SessionFile | null> {
  try {
    return JSON.parse(await fs.readFile(sessionPath(id), 'utf8')) as SessionFile;
  } catch {
    return null;
  }
}

async function writeSession(id: string, session: SessionFile): Promise<void> {
  await fs.mkdir(stateDir, { recursive: true });
  await fs.writeFile(sessionPath(id), JSON.stringify(session));
}

const modes = (current: string): SessionModeState => ({
  currentModeId: current,
  availableModes: [
    { id: 'default', name: 'Default', description: 'reads and writes files' },
    { id: 'plan', name: 'Plan', description: 'reads only; refuses to write' },
  ],
});

/** Cancellation of the running prompt, per session. */
const running = new Map<string, AbortController>();

async function runPrompt(
  client: AgentContext,
  sessionId: string,
  session: SessionFile,
  text: string,
  signal: AbortSignal,
): Promise<PromptResponse> {
  const update = (u: SessionUpdate) =>
    client.notify(methods.client.session.update, { sessionId, update: u });
  const say = (t: string) =>
    update({ sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: t } });
  const usage = { inputTokens: 0, outputTokens: 0 };
  const cancelled = (): PromptResponse => ({ stopReason: 'cancelled' });
  const resolvePath = (p: string) => path.resolve(session.cwd, p);

  for (const line of text.split('\n')) {
    if (signal.aborted) return cancelled();
    const trimmed = line.trim();
    const [directive = ''] = trimmed.split(/\s+/);
    const rest = trimmed.slice(directive.length).trim();
    switch (directive) {
      case '@say':
        await say(rest + '\n');
        break;
      case '@think':
        await update({
          sessionUpdate: 'agent_thought_chunk',
          content: { type: 'text', text: rest },
        });
        break;
      case '@tool': {
        const toolCallId = randomUUID();
        await update({
          sessionUpdate: 'tool_call',
          toolCallId,
          title: rest,
          kind: 'other',
          status: 'in_progress',
        });
        await update({ sessionUpdate: 'tool_call_update', toolCallId, status: 'completed' });
        break;
      }
      case '@plan':
        await update({
          sessionUpdate: 'plan',
          entries: rest.split('|').map((content) => ({
            content: content.trim(),
            priority: 'medium' as const,
            status: 'pending' as const,
          })),
        });
        break;
      case '@ask': {
        const toolCallId = randomUUID();
        const answer = await client
          .request(
            methods.client.session.requestPermission,
            {
              sessionId,
              toolCall: { toolCallId, title: rest, kind: 'edit', status: 'pending' },
              options: [
                { optionId: 'allow-once', name: 'Allow', kind: 'allow_once' },
                { optionId: 'reject-once', name: 'Reject', kind: 'reject_once' },
              ],
            },
            { cancellationSignal: signal },
          )
          .catch(() => ({ outcome: { outcome: 'cancelled' as const } }));
        if (answer.outcome.outcome === 'cancelled') return cancelled();
        if (answer.outcome.optionId !== 'allow-once') {
          await say(`permission rejected: ${rest}\n`);
          return { stopReason: 'refusal' };
        }
        await say(`permission granted: ${rest}\n`);
        break;
      }
      case '@write': {
        const [file = '', ...words] = rest.split(' ');
        if (session.mode === 'plan') {
          await say(`plan mode: not writing ${file}\n`);
          break;
        }
        await client.request(methods.client.fs.writeTextFile, {
          sessionId,
          path: resolvePath(file),
          content: words.join(' ').replaceAll('\\n', '\n'),
        });
        await say(`wrote ${file}\n`);
        break;
      }
      case '@read': {
        const { content } = await client.request(methods.client.fs.readTextFile, {
          sessionId,
          path: resolvePath(rest),
        });
        await say(`read ${rest}: ${content}\n`);
        break;
      }
      case '@usage':
        usage.inputTokens += Math.max(0, Math.trunc(Number(rest.split(/\s+/)[0]) || 0));
        usage.outputTokens += Math.max(0, Math.trunc(Number(rest.split(/\s+/)[1]) || 0));
        break;
      case '@sleep':
        try {
          await sleep(Math.max(0, Number(rest) || 0), undefined, { signal });
        } catch {
          return cancelled();
        }
        break;
      case '@fail':
        throw RequestError.internalError(undefined, rest || 'scripted failure');
      case '@refuse':
        return { stopReason: 'refusal' };
      case '@exit':
        process.exit(Number(rest) || 0);
        break;
      case '@history':
        await say(`prompts before this one: ${session.prompts - 1}\n`);
        break;
      default:
        if (trimmed !== '') await say(line + '\n');
    }
  }
  return {
    stopReason: 'end_turn',
    usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens },
  };
}

export function scriptedAcpAgent() {
  return agent({ name: 'boocoder-scripted-acp' })
    .onRequest(methods.agent.initialize, () => ({
      protocolVersion: PROTOCOL_VERSION,
      agentCapabilities: { loadSession: true },
      agentInfo: { name: 'boocoder-scripted-acp', version: '1' },
    }))
    .onRequest(methods.agent.session.new, async ({ params }) => {
      const sessionId = randomUUID();
      await writeSession(sessionId, { cwd: params.cwd, prompts: 0, mode: 'default' });
      return { sessionId, modes: modes('default') };
    })
    .onRequest(methods.agent.session.load, async ({ params }) => {
      const session = await readSession(params.sessionId);
      if (!session) throw RequestError.sessionNotFound(params.sessionId);
      await writeSession(params.sessionId, { ...session, cwd: params.cwd });
      return { modes: modes(session.mode) };
    })
    .onRequest(methods.agent.session.setMode, async ({ params }) => {
      const session = await readSession(params.sessionId);
      if (!session) throw RequestError.sessionNotFound(params.sessionId);
      if (params.modeId !== 'default' && params.modeId !== 'plan')
        throw RequestError.invalidParams({ modeId: params.modeId }, 'unknown mode');
      await writeSession(params.sessionId, { ...session, mode: params.modeId });
      return {};
    })
    .onRequest(methods.agent.session.prompt, async ({ params, client }) => {
      const session = await readSession(params.sessionId);
      if (!session) throw RequestError.sessionNotFound(params.sessionId);
      session.prompts += 1;
      await writeSession(params.sessionId, session);
      const controller = new AbortController();
      running.set(params.sessionId, controller);
      const text = params.prompt.map((b) => (b.type === 'text' ? b.text : '')).join('\n');
      try {
        return await runPrompt(client, params.sessionId, session, text, controller.signal);
      } finally {
        running.delete(params.sessionId);
      }
    })
    .onNotification(methods.agent.session.cancel, ({ params }) => {
      running.get(params.sessionId)?.abort();
    });
}

/** Serves one client on stdin/stdout until stdin closes. */
export async function main(): Promise<void> {
  const stream = ndJsonStream(
    Writable.toWeb(process.stdout) as WritableStream<Uint8Array>,
    Readable.toWeb(process.stdin),
  );
  const connection = scriptedAcpAgent().connect(stream);
  await connection.closed;
}
