/**
 * Text from peers and disks, made safe to show. A file name holding a
 * right-to-left override (`\u202egnp.exe` displays as "exe.png"), a
 * zero-width space or a terminal escape would otherwise lie in every log
 * line and status it appears in. Every invisible format or control
 * character (Unicode Cc and Cf, and the line/paragraph separators), except
 * newline and tab, is shown as `<U+202E>`. Pure.
 * @module
 */

const INVISIBLE = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;

/** `text` with each invisible character (but `\n` and `\t`) spelled `<U+XXXX>`. */
export function showInvisible(text: string): string {
  return text.replace(
    INVISIBLE,
    (c) =>
      c === "\n" || c === "\t"
        ? c
        : `<U+${
          c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")
        }>`,
  );
}
