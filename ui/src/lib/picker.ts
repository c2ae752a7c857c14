// The pure half of the searchable pickers on "Connect the cloud" (tenant, subscription,
// resource group, role, profile, service account, team): which options match what is typed,
// what the text box shows for a value, which value typed text stands for, and keyboard moves.
// Typed text that names no option is kept as typed, so the app layer's rules (not this file)
// say what is wrong with it.

export interface PickerOption {
  /** What the setup stores (an id, a name, an ARN). */
  readonly value: string;
  /** What people read. */
  readonly label: string;
  /** A second line, may be empty. */
  readonly detail: string;
}

/** Options whose label, value or detail contains every word of `query`, at most `limit`. */
export function matchOptions(options: readonly PickerOption[], query: string, limit = 50): PickerOption[] {
  const words = query.toLowerCase().split(/\s+/).filter((word) => word.length > 0);
  const found: PickerOption[] = [];
  for (const option of options) {
    const text = `${option.label}\u0000${option.value}\u0000${option.detail}`.toLowerCase();
    if (words.every((word) => text.includes(word))) {
      found.push(option);
      if (found.length >= limit) break;
    }
  }
  return found;
}

/** The text the box shows for `value`: its option's label, else the value itself. */
export function textFor(options: readonly PickerOption[], value: string): string {
  return options.find((option) => option.value === value)?.label ?? value;
}

/** The value typed text stands for: the option whose label or value it is (ignoring case and
 *  surrounding spaces), else the text as typed. */
export function valueFor(options: readonly PickerOption[], text: string): string {
  const wanted = text.trim().toLowerCase();
  if (wanted === '') return '';
  const byValue = options.find((option) => option.value.toLowerCase() === wanted);
  if (byValue !== undefined) return byValue.value;
  const byLabel = options.filter((option) => option.label.toLowerCase() === wanted);
  // Two options with one name (two subscriptions called "Production"): the text is ambiguous.
  if (byLabel.length === 1 && byLabel[0] !== undefined) return byLabel[0].value;
  return text.trim();
}

/** The active option after an arrow key: wraps around; -1 (none) when there are no options. */
export function moveActive(active: number, delta: number, count: number): number {
  if (count === 0) return -1;
  if (active < 0) return delta > 0 ? 0 : count - 1;
  return (((active + delta) % count) + count) % count;
}
