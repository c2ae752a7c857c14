// The one seam between the wizard UI and the desktop app. Only `ui/src/ipc/` imports
// `@tauri-apps/api` (through the generated `bindings.ts`); screens call
// `call('commandName', ...args)` and get an `Outcome`: the command's value, or a `UiError` with
// a stable code, message and hint. `call` is generic over the generated `commands`, so a new
// command needs no wrapper here. Anything that rejects without being a `UiError` (no Tauri host,
// an ACL denial, a badly typed argument, a bug) becomes an `internal` UiError, so screens handle
// exactly one error shape.
import { Channel } from '@tauri-apps/api/core';
import { commands, ERROR_CODES } from './bindings';
import type { UiError } from './bindings';

export { ERROR_CODES, FORM_FIELDS, SUBJECT_KEYS } from './bindings';
export type {
  AccountRequest,
  ApiKeyKept,
  ApplyOutcome,
  CheckView,
  FailureView,
  PlanStepView,
  PermissionStatus,
  PermissionView,
  PlanView,
  PreflightView,
  ResourceView,
  RunEvent,
  SetupFileInfo,
  SetupSource,
  StepOutcome,
  TeardownOutcome,
  VerifyView,
  AppInfo,
  AwsAccount,
  AwsProfile,
  AwsSignIn,
  AzureConnection,
  AzureSignIn,
  PickerItem,
  ConnectForm,
  ErrorCode,
  FieldError,
  FormField,
  GcpTrustPreview,
  IssuerVerdict,
  KeychainStatus,
  MatrixLine,
  ScopeChoices,
  ScopeItem,
  SetupCheck,
  SetupDraft,
  SetupPreview,
  OctopusConnectionSummary,
  OctopusTarget,
  OidcAccountItem,
  SandboxSummary,
  SignedOut,
  UiError,
} from './bindings';

/** What a command call produced: its value, or the one UI error type. */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: UiError };

type Commands = typeof commands;

/** The name of a desktop app command (`appInfo`, `connectOctopus`, …). */
export type CommandName = keyof Commands;

/** The value a command produces when it succeeds. */
export type CommandValue<K extends CommandName> = Extract<Awaited<ReturnType<Commands[K]>>, { status: 'ok' }>['data'];

type Settled<T> = { status: 'ok'; data: T } | { status: 'error'; error: unknown };

const KNOWN_CODES: ReadonlySet<string> = new Set<string>(ERROR_CODES);

/** Whether a rejection is a `UiError` the desktop app sent (and not a framework failure). */
export function isUiError(value: unknown): value is UiError {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate['code'] === 'string' &&
    KNOWN_CODES.has(candidate['code']) &&
    typeof candidate['message'] === 'string' &&
    (candidate['hint'] === null || typeof candidate['hint'] === 'string') &&
    Array.isArray(candidate['fieldErrors'])
  );
}

function describe(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message;
  if (typeof thrown === 'string') return thrown;
  return 'unknown failure';
}

function internal(thrown: unknown): UiError {
  return {
    code: 'internal',
    message: `The desktop app did not answer: ${describe(thrown)}`,
    hint: 'Restart the wizard. If this keeps happening, please report it.',
    fieldErrors: [],
  };
}

/** Calls a desktop app command; never rejects. */
export async function call<K extends CommandName>(
  name: K,
  ...args: Parameters<Commands[K]>
): Promise<Outcome<CommandValue<K>>> {
  const command = commands[name] as unknown as (...a: Parameters<Commands[K]>) => Promise<Settled<CommandValue<K>>>;
  try {
    const result = await command(...args);
    if (result.status === 'ok') return { ok: true, value: result.data };
    return { ok: false, error: isUiError(result.error) ? result.error : internal(result.error) };
  } catch (thrown) {
    return { ok: false, error: internal(thrown) };
  }
}

/** What a streaming command's channel is (screens only pass it on to `call`). */
export type EventChannel<T> = Channel<T>;

/** A channel for a command that streams events while it runs (apply, teardown): each event
 *  reaches `onEvent` once, in the order sent. A handler that throws loses that event only. */
export function eventChannel<T>(onEvent: (event: T) => void): EventChannel<T> {
  const channel = new Channel<T>();
  channel.onmessage = (event: T) => {
    try {
      onEvent(event);
    } catch (thrown) {
      console.error('a progress handler failed', thrown);
    }
  };
  return channel;
}
