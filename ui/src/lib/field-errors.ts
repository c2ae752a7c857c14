// Pure helpers for showing a UiError's field errors next to the form inputs. Fields are named by
// the generated `FormField` ids (`FORM_FIELDS.octopusServerUrl`), never by bare strings.
import type { FieldError, FormField, UiError } from '../ipc/client';

/** The error for one field, if the error lists one. */
export function errorFor(error: UiError | null, field: FormField): FieldError | undefined {
  return error?.fieldErrors.find((candidate) => candidate.field === field);
}

/** The part of an error not shown next to a field: its message, unless every problem is a field's. */
export function unattributedMessage(error: UiError | null, shownFields: readonly FormField[]): string | null {
  if (error === null) return null;
  const shown: readonly string[] = shownFields;
  const onFields = error.fieldErrors.length > 0 && error.fieldErrors.every((f) => shown.includes(f.field));
  return onFields ? null : error.message;
}
