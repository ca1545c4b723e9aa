/**
 * Ignore rules: the folder's `.dsyncignore` plus `-e` patterns, with
 * gitignore semantics (the `ignore` package), on top of paths dsync never
 * syncs. The names dsync never syncs match in any case, everywhere. User
 * patterns match case-sensitively, except on a case-insensitive disk: there
 * `.GIT/config` *is* `.git/config`, and a case-sensitive rule would let a
 * peer read or write an ignored file under a case variant of its name.
 */

import { getLogger } from "@logtape/logtape";
import ignore, { type Ignore } from "ignore";
import { toOsPath } from "./rel_path.ts";
import { STATE_DIR } from "./state_dir.ts";

const log = getLogger(["dsync", "index", "ignore"]);

/** Name of the ignore file at the root of the folder. */
export const IGNORE_FILE = ".dsyncignore";

/** Paths ignored whatever the rules say, at any depth (gitignore patterns). */
export const ALWAYS_IGNORED: readonly string[] = Object.freeze([
  STATE_DIR,
  "*.part",
  IGNORE_FILE,
]);

/**
 * True for a file or directory name matched by {@linkcode ALWAYS_IGNORED},
 * in any case (`.DSYNC`, `X.PART`), so no disk can hold a twin of them that
 * syncs.
 */
export function isAlwaysIgnoredName(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === STATE_DIR || lower === IGNORE_FILE ||
    lower.endsWith(".part");
}

/**
 * Characters of cached paths after which the matchers (and the package's
 * path cache) are renewed. The package caches a lookup's path and every
 * parent of it, so a lookup may add up to depth × length characters: a
 * budget in characters, not lookups, keeps memory flat even for paths of
 * thousands of characters (2 Mi chars: at most ~4 MB of keys). At 16 Mi
 * the cache of a cold scan of 100,000 files was never renewed and held 39
 * MB of the main heap (69 MB live after the scan, 30 MB with 2 Mi).
 */
export const CACHE_CHARS = 2 * 1024 * 1024;

/** Content of `.dsyncignore` written on first run. */
export const DEFAULT_DSYNCIGNORE =
  `# dsync ignore rules, one gitignore pattern per line.
# "#" starts a comment, "!" re-includes, a trailing "/" matches directories only,
# a leading "/" anchors to the folder root. Matching is case-sensitive,
# except on a case-insensitive disk (where .GIT is .git).
# This file is never synced, and edits take effect without a restart.
# Always ignored, whatever this file says: .dsync/, *.part, .dsyncignore

# Version control metadata
.git

# Dependencies that package managers rebuild
node_modules

# macOS Finder metadata
.DS_Store

# Temporary files and partial downloads
*.tmp
*.part
`;

/**
 * Creates `<folder>/.dsyncignore` with {@linkcode DEFAULT_DSYNCIGNORE} when it
 * does not exist; never overwrites. Returns true when it created the file.
 */
export async function ensureIgnoreFile(folder: string): Promise<boolean> {
  try {
    await Deno.writeTextFile(
      toOsPath(folder, IGNORE_FILE),
      DEFAULT_DSYNCIGNORE,
      {
        createNew: true,
      },
    );
    log.info("Created {path} with default rules", {
      path: toOsPath(folder, IGNORE_FILE),
    });
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) return false;
    throw err;
  }
}

function newMatcher(caseInsensitive = false): Ignore {
  return ignore({ ignorecase: caseInsensitive });
}

/** Splits ignore-file text into candidate pattern lines (comments and blanks kept out). */
function patternLines(text: string): string[] {
  return text.split(/\r?\n/).filter((line) =>
    line.trim() !== "" && !line.startsWith("#")
  );
}

/** True when `text` holds a control character other than a tab. */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return true;
  }
  return false;
}

/** Adds each valid pattern to `matcher`; logs and skips invalid ones. */
function addPatterns(
  matcher: Ignore,
  patterns: readonly string[],
  source: string,
): string[] {
  const accepted: string[] = [];
  for (const raw of patterns) {
    const pattern = raw.normalize("NFC");
    try {
      if (hasControlCharacter(pattern)) {
        throw new SyntaxError("control characters are not allowed");
      }
      // The package compiles lazily: probe once so a bad pattern fails here.
      const probe = newMatcher().add(pattern);
      probe.ignores("probe");
      probe.ignores("probe/");
      matcher.add(pattern);
      accepted.push(pattern);
    } catch (err) {
      log.warn(
        "Skipping invalid ignore pattern {pattern} from {source}: {error}",
        {
          pattern,
          source,
          error: err instanceof Error ? err.message : String(err),
        },
      );
    }
  }
  return accepted;
}

/** Decides which paths of the folder are not indexed nor synced. */
export class IgnoreRules {
  readonly #folder: string;
  readonly #extra: readonly string[];
  readonly #caseInsensitive: boolean;
  #user: Ignore = newMatcher();
  #cachedChars = 0;
  #fileText: string | undefined;
  #patterns: readonly string[] = [];

  private constructor(
    folder: string,
    extraPatterns: readonly string[],
    caseInsensitive: boolean,
  ) {
    this.#folder = folder;
    this.#extra = [...extraPatterns];
    this.#caseInsensitive = caseInsensitive;
  }

  /**
   * Loads the rules of `folder`: its `.dsyncignore` (absent means no user
   * rules) followed by `extraPatterns` (the `-e` flags, same syntax).
   * `caseInsensitive`: the folder's disk folds case, so patterns do too.
   */
  static async load(
    folder: string,
    extraPatterns: readonly string[] = [],
    options: { readonly caseInsensitive?: boolean } = {},
  ): Promise<IgnoreRules> {
    const rules = new IgnoreRules(
      folder,
      extraPatterns,
      options.caseInsensitive ?? false,
    );
    rules.#rebuild(await rules.#readFile());
    return rules;
  }

  /** True when user patterns match in any case (a case-insensitive disk). */
  get caseInsensitive(): boolean {
    return this.#caseInsensitive;
  }

  /** Active user patterns (file then `-e`), after invalid ones were dropped. */
  get patterns(): readonly string[] {
    return this.#patterns;
  }

  /**
   * Re-reads `.dsyncignore` and rebuilds the rules when its text changed.
   * Returns true when the rules changed. A read error keeps the old rules.
   */
  async refresh(): Promise<boolean> {
    let text: string | undefined;
    try {
      text = await this.#readFile();
    } catch (err) {
      log.warn("Cannot read {path}, keeping previous rules: {error}", {
        path: toOsPath(this.#folder, IGNORE_FILE),
        error: err instanceof Error ? err.message : String(err),
      });
      return false;
    }
    if (text === this.#fileText) return false;
    this.#rebuild(text);
    log.info("Reloaded ignore rules from {path}", {
      path: toOsPath(this.#folder, IGNORE_FILE),
    });
    return true;
  }

  /** Characters of paths the matcher may hold in its cache now (at most {@linkcode CACHE_CHARS}). */
  get cachedChars(): number {
    return this.#cachedChars;
  }

  /**
   * True when `relPath` (canonical, see `rel_path.ts`) is ignored, either
   * itself or through an ignored parent directory. `isDir` tells whether it
   * is a directory, for patterns with a trailing `/`.
   */
  ignores(relPath: string, isDir: boolean): boolean {
    if (relPath === "") return false;
    let depth = 0;
    for (let start = 0; start <= relPath.length;) {
      let end = relPath.indexOf("/", start);
      if (end < 0) end = relPath.length;
      if (isAlwaysIgnoredName(relPath.slice(start, end))) return true;
      start = end + 1;
      depth++;
    }
    if (this.#patterns.length === 0) return false;
    // The package caches every path it has seen (and its parents), forever;
    // starting over now and then keeps memory flat.
    this.#cachedChars += depth * (relPath.length + 1);
    if (this.#cachedChars > CACHE_CHARS) this.#renewMatchers();
    try {
      return this.#user.ignores(isDir ? `${relPath}/` : relPath);
    } catch {
      // The package rejects paths such as "../x"; canonical paths never are.
      return false;
    }
  }

  async #readFile(): Promise<string | undefined> {
    try {
      return await Deno.readTextFile(toOsPath(this.#folder, IGNORE_FILE));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw err;
    }
  }

  #renewMatchers(): void {
    this.#cachedChars = 0;
    this.#user = newMatcher(this.#caseInsensitive).add([...this.#patterns]);
  }

  #rebuild(fileText: string | undefined): void {
    const matcher = newMatcher(this.#caseInsensitive);
    const fromFile = addPatterns(
      matcher,
      patternLines(fileText ?? ""),
      IGNORE_FILE,
    );
    const fromFlags = addPatterns(matcher, this.#extra, "-e");
    this.#user = matcher;
    this.#fileText = fileText;
    this.#patterns = Object.freeze([...fromFile, ...fromFlags]);
  }
}
