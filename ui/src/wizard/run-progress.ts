// The live state of an apply or teardown, folded from the engine's progress events (the
// `RunEvent`s the desktop app streams over a channel): per plan step waiting / running / done /
// failed, the latest retry with its reason and wait, and a log of what happened. Pure.
import type { ApplyOutcome, PlanView, RunEvent } from '../ipc/client';

export type StepStatus = 'waiting' | 'running' | 'done' | 'failed' | 'unchanged';

export interface StepProgress {
  readonly index: number;
  readonly kind: string;
  readonly name: string;
  readonly action: string;
  readonly status: StepStatus;
  /** The id it ended with, or the error it failed with. */
  readonly detail: string | null;
  /** The last retry while it ran (`CreateRole: retrying in 1.0 s (attempt 1): Rate exceeded`). */
  readonly retry: string | null;
}

export interface RunProgress {
  readonly steps: readonly StepProgress[];
  /** Every event in words, newest last. */
  readonly log: readonly string[];
}

/** Before anything ran: steps with changes wait, the others are unchanged. */
export function startProgress(plan: PlanView): RunProgress {
  return {
    steps: plan.steps.map((step) => ({
      index: step.index,
      kind: step.kind,
      name: step.name,
      action: step.action,
      status: step.action === 'unchanged' ? 'unchanged' : 'waiting',
      detail: null,
      retry: null,
    })),
    log: [],
  };
}

/** A wait in words: `800 ms`, `1.5 s`. */
export function waitText(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function update(progress: RunProgress, index: number, change: (step: StepProgress) => StepProgress): readonly StepProgress[] {
  return progress.steps.map((step) => (step.index === index ? change(step) : step));
}

/** The progress after one event. */
export function onEvent(progress: RunProgress, event: RunEvent): RunProgress {
  switch (event.kind) {
    case 'step': {
      const status: StepStatus = event.status === 'started' ? 'running' : event.status === 'failed' ? 'failed' : 'done';
      const known = progress.steps.some((step) => step.index === event.index);
      // Teardown's steps are not the plan's: a step first seen in an event is added.
      const steps = known
        ? update(progress, event.index, (step) => ({ ...step, status, detail: event.detail ?? step.detail }))
        : [
            ...progress.steps,
            { index: event.index, kind: event.resource, name: event.name, action: event.action, status, detail: event.detail, retry: null },
          ];
      return { steps, log: [...progress.log, `${event.action} ${event.resource} ${event.name}: ${event.status}${event.detail ? ` (${event.detail})` : ''}`] };
    }
    case 'retrying': {
      const line = `${event.operation}: retrying in ${waitText(event.waitMs)} (attempt ${event.attempt}): ${event.reason}`;
      const steps = progress.steps.map((step) => (step.status === 'running' ? { ...step, retry: line } : step));
      return { steps, log: [...progress.log, `${event.service} ${line}`] };
    }
    case 'task':
      return { ...progress, log: [...progress.log, `${event.taskId} ${event.state}${event.message ? `: ${event.message}` : ''}`] };
    case 'info':
      return { ...progress, log: [...progress.log, event.message] };
  }
}

/** The progress as the engine's final report says it ended (it wins over the events: a step
 *  that was not run waits again, one that failed shows its error). */
export function withResults(progress: RunProgress, outcome: ApplyOutcome): RunProgress {
  const results = new Map(outcome.steps.map((step) => [step.index, step]));
  return {
    ...progress,
    steps: progress.steps.map((step) => {
      const result = results.get(step.index);
      if (result === undefined) return step;
      const status: StepStatus =
        result.result === 'not_run' ? 'waiting' : result.result === 'failed' ? 'failed' : result.result === 'unchanged' ? 'unchanged' : 'done';
      return { ...step, status, detail: result.failure?.message ?? step.detail, retry: null };
    }),
  };
}
