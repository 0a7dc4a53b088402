export type MeshErrorCode = 'not_found' | 'invalid' | 'conflict' | 'too_large' | 'refused';

/** A failure the caller can fix: `message` says what was wrong, `hint` what to do next. */
export class MeshError extends Error {
  override name = 'MeshError';
  constructor(readonly code: MeshErrorCode, message: string, readonly hint: string, options?: ErrorOptions) {
    super(message, options);
  }
}
