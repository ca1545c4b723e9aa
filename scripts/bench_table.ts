/** One line of a benchmark table. */
export interface Row {
  name: string;
  value: string;
}

/** Prints rows as an aligned two-column table. */
export function printTable(rows: Row[]): void {
  const width = Math.max(9, ...rows.map((row) => row.name.length));
  console.log(`${"benchmark".padEnd(width)}  result`);
  console.log(`${"-".repeat(width)}  ${"-".repeat(24)}`);
  for (const row of rows) {
    console.log(`${row.name.padEnd(width)}  ${row.value}`);
  }
}
