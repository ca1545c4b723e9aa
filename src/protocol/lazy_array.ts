/**
 * A read-only array whose elements are made when read: for chunk lists of
 * hundreds of thousands of entries held as bytes (the wire decoder's and
 * the index's), where one object per element, held, costs tens of MB.
 * `length`, indexing, iteration and the array methods work; writes fail.
 * @module
 */

/** A canonical array index below `count`, or -1. */
function indexOf(key: string | symbol, count: number): number {
  if (typeof key !== "string" || key.length === 0 || key.length > 15) return -1;
  const code = key.charCodeAt(0);
  if (code < 48 || code > 57 || (code === 48 && key.length > 1)) return -1;
  const index = Number(key);
  return Number.isInteger(index) && index < count ? index : -1;
}

/** An array of `count` elements, element `i` being `make(i)` at each read. */
export function lazyArray<T>(count: number, make: (index: number) => T): T[] {
  return new Proxy([] as T[], {
    get(t, key, receiver) {
      if (key === "length") return count;
      const index = indexOf(key, count);
      if (index < 0) return Reflect.get(t, key, receiver);
      return make(index);
    },
    has(t, key) {
      return key === "length" || indexOf(key, count) >= 0 ||
        Reflect.has(t, key);
    },
    set() {
      return false; // read-only, like the records that hold such lists
    },
  });
}
