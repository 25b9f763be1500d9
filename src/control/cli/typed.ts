/**
 * What the user typed on the command line: the error for a mistake in it (exit 2, optionally naming the
 * argument or option) and the whole numbers it spells. Its own file so that what parses typed words (cli/,
 * settings/) can use them without importing the command table.
 */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A whole number typed on the command line. */
export function num(text: string | undefined, what: string): number {
  if (text === undefined || !/^-?\d+$/.test(text))
    throw new UsageError(`${what} must be a whole number, got '${text ?? ''}'`, what);
  return Number(text);
}
