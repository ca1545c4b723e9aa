/**
 * The few assertions the tests need, named and shaped like `@std/assert`.
 * That lives on JSR, which this project's build environment cannot reach,
 * so node:assert does the work; this is the only test file that imports it
 * (`tests/test_style_test.ts` checks).
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

/** `actual` and `expected` are the same value (`Object.is`), not only equal in structure. */
export function assertStrictEquals<T>(
  actual: unknown,
  expected: T,
  message?: string,
): asserts actual is T {
  assert.strictEqual(actual, expected, message);
}

/** `actual` and `expected` are not the same value (`Object.is`). */
export function assertNotStrictEquals(
  actual: unknown,
  expected: unknown,
  message?: string,
): void {
  assert.notStrictEqual(actual, expected, message);
}

/** Fails the test with `message`. */
export function fail(message?: string): never {
  throw new assert.AssertionError({ message: message ?? "Failed" });
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
type ErrorClass<E extends Error = Error> = new (...args: any[]) => E;

/** `fn` throws an `errorClass` whose message includes `messageIncludes`; returns the error. */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  errorClass?: ErrorClass<E>,
  messageIncludes?: string,
  message?: string,
): E {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  return checkError(caught, errorClass, messageIncludes, message);
}

/** {@linkcode assertThrows} for a promise `fn` returns. */
export async function assertRejects<E extends Error = Error>(
  fn: () => Promise<unknown>,
  errorClass?: ErrorClass<E>,
  messageIncludes?: string,
  message?: string,
): Promise<E> {
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

function checkError<E extends Error>(
  caught: unknown,
  errorClass: ErrorClass<E> | undefined,
  messageIncludes: string | undefined,
  message: string | undefined,
): E {
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
  return error as E;
}
