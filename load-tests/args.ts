/** Option checks shared by the load-test commands: a bad value stops the command with exit code 2. */
export function wholeNumber(name: string, v: string | undefined, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`--${name} must be a whole number from ${min} to ${max}, got '${v}'`);
    process.exit(2);
  }
  return n;
}
