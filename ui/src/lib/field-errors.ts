// Pure helpers for showing a UiError's field errors next to the form inputs.
import type { UiError, UiFieldError } from '../ipc/client';

/** The error for one field, if the error lists one. */
export function errorFor(error: UiError | null, field: string): UiFieldError | undefined {
  return error?.fieldErrors.find((candidate) => candidate.field === field);
}

/** The part of an error not shown next to a field: its message, unless every problem is a field's. */
export function unattributedMessage(error: UiError | null, shownFields: readonly string[]): string | null {
  if (error === null) return null;
  const onFields = error.fieldErrors.length > 0 && error.fieldErrors.every((f) => shownFields.includes(f.field));
  return onFields ? null : error.message;
}
