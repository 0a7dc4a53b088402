export type StoreErrorCode = 'not_sqlite' | 'not_meshfleet' | 'too_new' | 'unreadable' | 'unusable_path';

/**
 * The database cannot be used as it is. `message` says what is wrong, `hint` what to do.
 * Thrown before anything is written to the file.
 */
export class StoreError extends Error {
  override name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    readonly hint: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * SQLITE_BUSY (and its extended codes) or SQLITE_LOCKED: another connection holds the lock past
 * the busy timeout. Nothing was written; waiting and trying again helps.
 */
export function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}
