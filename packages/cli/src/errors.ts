/** An error meant for the user: printed without a stack, exit code `code`. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly code = 2,
  ) {
    super(message);
    this.name = 'UserError';
  }
}
