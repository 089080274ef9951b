/**
 * Old names accepted for one release after a rename (docs/architecture.md#glossary): each use
 * prints one line on stderr, once per process and old name, and then behaves as the new name.
 */
const warned = new Set<string>();

/** The removal release of every name deprecated in 0.1. */
export const DEPRECATED_UNTIL = '0.2';

export function warnDeprecated(old: string, replacement: string, why = ''): void {
  if (warned.has(old)) return;
  warned.add(old);
  console.warn(
    `oneshot-em: ${old} is deprecated, use ${replacement}${why ? ` (${why})` : ''}; the old name is accepted until ${DEPRECATED_UNTIL}`,
  );
}
