/**
 * Reads a peer's folder into the form the checks judge: every path (NFC)
 * with its kind, exec bit, size, content hash and the tokens in it;
 * `.dsync/` and `.dsyncignore` at the root are left out (dsync's own). A
 * cheap variant without contents lets the quiescence poll skip hashing
 * until sizes agree.
 * @module
 */
import type { FileEntry, Tree, TreeEntry } from "./checks.ts";
import { tokensIn } from "./content.ts";

async function hashOf(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    bytes as Uint8Array<ArrayBuffer>,
  );
  return Array.from(
    new Uint8Array(digest),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

/**
 * The tree under `root`. With `contents` false, files carry only exec bit
 * and size (hash and tokens empty). Entries vanishing during the walk are
 * left out (dsync may be renaming under us).
 */
export async function readTree(root: string, contents = true): Promise<Tree> {
  const out = new Map<string, TreeEntry>();
  const walk = async (dir: string, rel: string, depth: number) => {
    if (depth > 64) return;
    let names: Deno.DirEntry[];
    try {
      names = await Array.fromAsync(Deno.readDir(dir));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw err;
    }
    for (const e of names) {
      const path = rel === "" ? e.name : `${rel}/${e.name}`;
      if (path === ".dsync" || path === ".dsyncignore") continue;
      const full = `${dir}/${e.name}`;
      const key = path.normalize("NFC");
      try {
        const info = await Deno.lstat(full);
        if (info.isSymlink) {
          out.set(key, { kind: "link", target: await Deno.readLink(full) });
        } else if (info.isDirectory) {
          out.set(key, { kind: "dir" });
          await walk(full, path, depth + 1);
        } else {
          const exec = ((info.mode ?? 0) & 0o100) !== 0;
          let file: FileEntry = {
            kind: "file",
            exec,
            size: info.size,
            hash: "",
            tokens: [],
          };
          if (contents) {
            const bytes = await Deno.readFile(full);
            file = {
              ...file,
              size: bytes.length,
              hash: await hashOf(bytes),
              tokens: tokensIn(bytes),
            };
          }
          out.set(key, file);
        }
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    }
  };
  await walk(root, "", 0);
  return out;
}

/** Every file under `root` (recursively, or `root` itself when a file) with its tokens, paths relative to `relBase`. */
export async function filesUnder(
  root: string,
  relBase: string,
): Promise<{ path: string; tokens: string[] }[]> {
  const out: { path: string; tokens: string[] }[] = [];
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(root);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return out;
    throw err;
  }
  if (info.isFile) {
    try {
      return [{ path: relBase, tokens: tokensIn(await Deno.readFile(root)) }];
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return out;
      throw err;
    }
  }
  if (!info.isDirectory) return out;
  const tree = await readTree(root);
  for (const [path, entry] of tree) {
    if (entry.kind === "file") {
      out.push({ path: `${relBase}/${path}`, tokens: [...entry.tokens] });
    }
  }
  return out.sort((a, b) => a.path < b.path ? -1 : 1);
}
