// The one seam between the wizard UI and the desktop app. Only `ui/src/ipc/` imports
// `@tauri-apps/api` (through the generated `bindings.ts`); screens call `ipc.*` and get an
// `Outcome`: the command's value, or a `UiError` with a stable code, message and hint.
// Failures outside a command (no Tauri host, a permission denial, a bug) become `internal`
// UiErrors here, so screens handle exactly one error shape.
import { commands } from './bindings';
import type {
  AppInfo,
  ConnectForm,
  OctopusConnectionSummary,
  OctopusTarget,
  SandboxSummary,
  UiError,
} from './bindings';

export type {
  ApiKeyKept,
  AppInfo,
  ConnectForm,
  KeychainStatus,
  OctopusConnectionSummary,
  OctopusTarget,
  SandboxSummary,
  UiError,
  UiErrorCode,
  UiFieldError,
} from './bindings';

/** What a command call produced: its value, or the one UI error type. */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: UiError };

type CommandResult<T> = { status: 'ok'; data: T } | { status: 'error'; error: UiError };

function describe(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message;
  if (typeof thrown === 'string') return thrown;
  return 'unknown failure';
}

async function call<T>(run: () => Promise<CommandResult<T>>): Promise<Outcome<T>> {
  try {
    const result = await run();
    return result.status === 'ok' ? { ok: true, value: result.data } : { ok: false, error: result.error };
  } catch (thrown) {
    return {
      ok: false,
      error: {
        code: 'internal',
        message: `The desktop app did not answer: ${describe(thrown)}`,
        hint: 'Restart the wizard. If this keeps happening, please report it.',
        fieldErrors: [],
      },
    };
  }
}

/** The desktop app's commands, as the UI calls them. */
export const ipc = {
  appInfo: (): Promise<Outcome<AppInfo>> => call(() => commands.appInfo()),
  checkConnectForm: (form: ConnectForm): Promise<Outcome<OctopusTarget>> =>
    call(() => commands.checkConnectForm(form)),
  startSandbox: (): Promise<Outcome<SandboxSummary>> => call(() => commands.startSandbox()),
  sandboxStatus: (): Promise<Outcome<SandboxSummary | null>> => call(() => commands.sandboxStatus()),
  connectOctopus: (form: ConnectForm): Promise<Outcome<OctopusConnectionSummary>> =>
    call(() => commands.connectOctopus(form)),
  connectSandboxOctopus: (): Promise<Outcome<OctopusConnectionSummary>> => call(() => commands.connectSandboxOctopus()),
};
