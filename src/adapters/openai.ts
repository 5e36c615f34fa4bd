/**
 * The OpenAI-compatible transport (the "native" path): a model behind any
 * `/v1/chat/completions` server — a local Qwen under llama.cpp, vLLM, Ollama, or a hosted
 * API. The prompt goes out as one user message; the streamed deltas come back as coalesced
 * output, the final usage as token counts. It cannot touch files, so read-only is free.
 */
import { AgentAborted, type Agent, type AgentResult, type AgentRun } from './agent.ts';
import { createCoalescer } from './coalesce.ts';

export interface OpenAiOptions {
  name: string;
  /** Up to and including `/v1`, e.g. http://127.0.0.1:8080/v1 */
  baseUrl: string;
  apiKey: string | null;
  /** The model when the task names none. */
  model: string;
  timeoutMs: number;
}

interface ChunkShape {
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | null;
  error?: { message?: string };
}

/** Yields the JSON payload of each `data:` line of a server-sent event stream. */
async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const bytes of body as unknown as AsyncIterable<Uint8Array>) {
    pending += decoder.decode(bytes, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline).replace(/\r$/, '');
      pending = pending.slice(newline + 1);
      if (line.startsWith('data:')) yield line.slice(5).trim();
    }
  }
  if (pending.startsWith('data:')) yield pending.slice(5).trim();
}

const lastLine = (text: string) =>
  (
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? ''
  ).slice(0, 300);

export function createOpenAiAgent(options: OpenAiOptions): Agent {
  return {
    name: options.name,
    executionPath: 'native',
    async run({ input, model, signal, report }: AgentRun): Promise<AgentResult> {
      const timeout = AbortSignal.timeout(options.timeoutMs);
      const both = AbortSignal.any([signal, timeout]);
      let text = '';
      const out = createCoalescer((chunk) => report.output(chunk));
      try {
        const response = await fetch(`${options.baseUrl.replace(/\/$/, '')}/chat/completions`, {
          method: 'POST',
          signal: both,
          headers: {
            'content-type': 'application/json',
            accept: 'text/event-stream',
            ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
          },
          body: JSON.stringify({
            model: model ?? options.model,
            messages: [{ role: 'user', content: input }],
            stream: true,
            stream_options: { include_usage: true },
          }),
        });
        if (!response.ok || !response.body) {
          const detail = (await response.text().catch(() => '')).slice(0, 300);
          return {
            status: 'failed',
            error: `${options.name}: the model server answered ${response.status}${detail ? `: ${detail}` : ''}`,
          };
        }
        let finish: string | null = null;
        for await (const data of sseData(response.body)) {
          if (data === '[DONE]') break;
          let chunk: ChunkShape;
          try {
            chunk = JSON.parse(data) as ChunkShape;
          } catch {
            continue; // keep-alive comments and the like
          }
          if (chunk.error)
            return {
              status: 'failed',
              error: `${options.name}: ${chunk.error.message ?? 'model error'}`,
            };
          const choice = chunk.choices?.[0];
          const delta = choice?.delta?.content;
          if (delta) {
            text += delta;
            out.push(delta);
          }
          finish = choice?.finish_reason ?? finish;
          if (chunk.usage) {
            const input_ = chunk.usage.prompt_tokens ?? 0;
            const output_ = chunk.usage.completion_tokens ?? 0;
            await report.usage({
              inputTokens: input_,
              outputTokens: output_,
              costTokens: chunk.usage.total_tokens ?? input_ + output_,
            });
          }
        }
        await out.drain();
        if (out.failure !== undefined) throw new AgentAborted('output refused');
        if (finish === 'length')
          return {
            status: 'failed',
            error: `${options.name}: the answer was cut off at the model's length limit`,
          };
        return { status: 'completed', summary: lastLine(text) || 'done' };
      } catch (error) {
        if (signal.aborted) throw new AgentAborted(signal.reason);
        if (error instanceof AgentAborted) throw error;
        if (timeout.aborted)
          return {
            status: 'failed',
            error: `${options.name} took longer than ${options.timeoutMs} ms`,
          };
        return {
          status: 'failed',
          error: `${options.name}: ${error instanceof Error ? error.message : String(error)}`,
        };
      }
    },
  };
}
