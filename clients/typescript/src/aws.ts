/** What the reader reads of the AWS SDK's errors. */

/** The SDK's error name (its exception class), or null for errors that did not come from AWS. */
export function awsErrorName(error: unknown): string | null {
  if (typeof error === 'object' && error !== null && '$metadata' in error && 'name' in error) {
    return typeof error.name === 'string' ? error.name : null;
  }
  return null;
}
