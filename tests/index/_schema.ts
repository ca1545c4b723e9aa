import { DatabaseSync } from "node:sqlite";

/** Writes `version` as the schema version of the (closed) index in `folder`. */
export function setSchemaVersion(folder: string, version: number): void {
  const raw = new DatabaseSync(`${folder}/.dsync/index.db`);
  try {
    raw.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'")
      .run(version);
  } finally {
    raw.close();
  }
}
