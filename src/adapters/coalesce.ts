/**
 * Output coalescing shared by the streaming transports: pieces of output are gathered and
 * reported at most once per `flushMs` or every `flushBytes`, in order, one report at a time,
 * so a chatty agent writes a few events a second rather than one per byte. A report that
 * fails (the task is no longer ours) is remembered and `onFailure` is told, once.
 */
export interface Coalescer {
  push(text: string): void;
  /** Reports what is buffered and waits for every report so far. */
  drain(): Promise<void>;
  /** The first report that failed, if any. */
  readonly failure: unknown;
}

export function createCoalescer(
  output: (chunk: string) => Promise<void>,
  options: { flushMs?: number; flushBytes?: number; onFailure?: (error: unknown) => void } = {},
): Coalescer {
  const flushMs = options.flushMs ?? 100;
  const flushBytes = options.flushBytes ?? 4096;
  let buffer = '';
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> = Promise.resolve();
  let failure: unknown;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!buffer || failure) return;
    const chunk = buffer;
    buffer = '';
    sending = sending
      .then(() => output(chunk))
      .catch((error: unknown) => {
        if (failure === undefined) {
          failure = error ?? new Error('output report failed');
          options.onFailure?.(error);
        }
      });
  };
  return {
    push(text) {
      buffer += text;
      if (buffer.length >= flushBytes) flush();
      else timer ??= setTimeout(flush, flushMs);
    },
    async drain() {
      flush();
      await sending;
    },
    get failure() {
      return failure;
    },
  };
}
