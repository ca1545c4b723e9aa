/**
 * The benchmark's datasets, written from a seed so that every run (and the
 * test) sees the same bytes: big random files, many small random files in
 * nested folders, and pseudo source text.
 * @module
 */
import { Prng } from "./prng.ts";
import { fillSourceText, sourceLinePool } from "./source_text.ts";

/** What to write: file count and size, and the kind of content. */
export type DatasetSpec =
  | { kind: "random"; files: number; size: number }
  | { kind: "small"; files: number; size: number; perDir: number }
  | { kind: "text"; files: number; size: number };

const BLOCK = 16 * 1024 * 1024;

/**
 * Issue 21's large folder: 100,000 files of 1 KiB in 1,000 folders of 100
 * (105 MB with the directories), for the cold index and the initial sync.
 */
export const LARGE_FOLDER: DatasetSpec = {
  kind: "small",
  files: 100_000,
  size: 1024,
  perDir: 100,
};

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) {
    off += await file.write(data.subarray(off));
  }
}

function fileSeed(seed: number, index: number): number {
  return (seed + Math.imul(index + 1, 0x9e3779b1)) >>> 0;
}

/**
 * Where small file `i` lives: ~`perDir` files per folder, ten folders per
 * parent, e.g. `s01/t3/f01234.bin`.
 */
export function smallFilePath(i: number, perDir: number): string {
  const folder = Math.floor(i / perDir);
  const top = String(Math.floor(folder / 10)).padStart(2, "0");
  return `s${top}/t${folder % 10}/f${String(i).padStart(5, "0")}.bin`;
}

/** Writes the dataset `spec` made from `seed` into the existing folder `dir`. */
export async function writeDataset(
  dir: string,
  spec: DatasetSpec,
  seed: number,
): Promise<void> {
  switch (spec.kind) {
    case "random":
      return await writeRandom(dir, spec.files, spec.size, seed);
    case "small":
      return writeSmall(dir, spec.files, spec.size, spec.perDir, seed);
    case "text":
      return await writeText(dir, spec.files, spec.size, seed);
  }
}

async function writeRandom(
  dir: string,
  files: number,
  size: number,
  seed: number,
): Promise<void> {
  const block = new Uint8Array(Math.min(BLOCK, size));
  for (let f = 0; f < files; f++) {
    const rng = new Prng(fileSeed(seed, f));
    using file = await Deno.open(`${dir}/big-${f}.bin`, {
      write: true,
      create: true,
      truncate: true,
    });
    for (let written = 0; written < size; written += block.length) {
      const part = block.subarray(0, Math.min(block.length, size - written));
      rng.fill(part);
      await writeAll(file, part);
    }
  }
}

function writeSmall(
  dir: string,
  files: number,
  size: number,
  perDir: number,
  seed: number,
): void {
  const rng = new Prng(seed);
  const data = new Uint8Array(size);
  let lastFolder = "";
  for (let i = 0; i < files; i++) {
    const path = `${dir}/${smallFilePath(i, perDir)}`;
    const folder = path.slice(0, path.lastIndexOf("/"));
    if (folder !== lastFolder) {
      Deno.mkdirSync(folder, { recursive: true });
      lastFolder = folder;
    }
    rng.fill(data);
    Deno.writeFileSync(path, data);
  }
}

async function writeText(
  dir: string,
  files: number,
  size: number,
  seed: number,
): Promise<void> {
  const pool = sourceLinePool(seed);
  const rng = new Prng(fileSeed(seed, files));
  const buf = new Uint8Array(size);
  for (let f = 0; f < files; f++) {
    const folder = `${dir}/pkg${f % 4}`;
    if (f < 4) await Deno.mkdir(folder, { recursive: true });
    fillSourceText(buf, pool, rng);
    using file = await Deno.open(
      `${folder}/module_${String(f).padStart(3, "0")}.ts`,
      { write: true, create: true, truncate: true },
    );
    await writeAll(file, buf);
  }
}
