/**
 * The few assertions the tests need. `@std/assert` lives on JSR, which this
 * project's build environment cannot reach, so node:assert does the work.
 * @module
 */
import assert from "node:assert/strict";

export function assertEquals<T>(
  actual: T,
  expected: T,
  message?: string,
): void {
  assert.deepStrictEqual(actual, expected, message);
}

export function assertNotEquals<T>(
  actual: T,
  expected: T,
  message?: string,
): void {
  assert.notDeepStrictEqual(actual, expected, message);
}

export function assert_(
  condition: unknown,
  message?: string,
): asserts condition {
  assert.ok(condition, message);
}
export { assert_ as assert };

export function assertMatch(
  actual: string,
  pattern: RegExp,
  message?: string,
): void {
  assert.match(actual, pattern, message);
}

export function assertStringIncludes(
  actual: string,
  expected: string,
  message?: string,
): void {
  if (!actual.includes(expected)) {
    throw new assert.AssertionError({
      message: message ??
        `Expected ${JSON.stringify(actual)} to include ${
          JSON.stringify(expected)
        }`,
      actual,
      expected,
    });
  }
}

// deno-lint-ignore no-explicit-any
type ErrorClass = new (...args: any[]) => Error;

export function assertThrows(
  fn: () => unknown,
  errorClass?: ErrorClass,
  messageIncludes?: string,
  message?: string,
): Error {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  return checkError(caught, errorClass, messageIncludes, message);
}

export async function assertRejects(
  fn: () => Promise<unknown>,
  errorClass?: ErrorClass,
  messageIncludes?: string,
  message?: string,
): Promise<Error> {
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  return checkError(caught, errorClass, messageIncludes, message);
}

/** `instanceof` without narrowing, so the failure branch keeps its type. */
function isInstance(value: unknown, errorClass: ErrorClass): boolean {
  return value instanceof errorClass;
}

function checkError(
  caught: unknown,
  errorClass: ErrorClass | undefined,
  messageIncludes: string | undefined,
  message: string | undefined,
): Error {
  const prefix = message ? `${message}: ` : "";
  if (caught === undefined) {
    throw new assert.AssertionError({ message: `${prefix}Expected a throw` });
  }
  if (!(caught instanceof Error)) {
    throw new assert.AssertionError({
      message: `${prefix}Thrown value is not an Error: ${caught}`,
    });
  }
  const error: Error = caught;
  if (errorClass && !isInstance(error, errorClass)) {
    throw new assert.AssertionError({
      message:
        `${prefix}Expected ${errorClass.name}, got ${error.name}: ${error.message}`,
    });
  }
  if (
    messageIncludes !== undefined && !error.message.includes(messageIncludes)
  ) {
    throw new assert.AssertionError({
      message: `${prefix}Expected message to include ${
        JSON.stringify(messageIncludes)
      }, got ${JSON.stringify(error.message)}`,
    });
  }
  return error;
}
