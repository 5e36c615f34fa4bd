/**
 * Which (state, event) pairs the random runs exercised. The pairs a machine defines come from
 * its own config (each state's `on` keys), so a transition added later is counted, and missed,
 * without anyone updating this file. A pair counts as accepted when the machine took the
 * event, refused when a guard said no; a guarded pair should see both.
 */
import type { AnyStateMachine } from 'xstate';

export interface PairCount {
  state: string;
  event: string;
  guarded: boolean;
  accepted: number;
  refused: number;
}

type TransitionConfig = { guard?: unknown } | string | undefined;

export class Coverage {
  readonly pairs = new Map<string, PairCount>();

  constructor(
    readonly name: string,
    machine: AnyStateMachine,
  ) {
    for (const [state, node] of Object.entries(machine.root.states)) {
      const on = (node.config.on ?? {}) as Record<string, TransitionConfig | TransitionConfig[]>;
      for (const [event, transitions] of Object.entries(on)) {
        const list = Array.isArray(transitions) ? transitions : [transitions];
        const guarded = list.every((t) => typeof t === 'object' && t?.guard !== undefined);
        this.pairs.set(`${state} ${event}`, { state, event, guarded, accepted: 0, refused: 0 });
      }
    }
  }

  /** Counts the event if the state defines a transition for it; other pairs are not pairs. */
  record(state: unknown, event: string, accepted: boolean): void {
    const pair = this.pairs.get(`${String(state)} ${event}`);
    if (!pair) return;
    if (accepted) pair.accepted++;
    else pair.refused++;
  }

  /** Pairs never taken, and guarded pairs whose guard never refused. */
  gaps(): string[] {
    const gaps: string[] = [];
    for (const p of this.pairs.values()) {
      if (p.accepted === 0) gaps.push(`${this.name}: ${p.state} --${p.event}--> never accepted`);
      if (p.guarded && p.refused === 0)
        gaps.push(`${this.name}: ${p.state} --${p.event}--> guard never refused`);
    }
    return gaps;
  }

  table(): string {
    const rows = [...this.pairs.values()].map(
      (p) =>
        `  ${p.state.padEnd(10)} ${p.event.padEnd(32)} accepted ${String(p.accepted).padStart(6)}  refused ${p.guarded ? String(p.refused).padStart(6) : '     -'}`,
    );
    return [`${this.name}: ${this.pairs.size} (state, event) pairs`, ...rows].join('\n');
  }
}
