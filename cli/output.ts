/** Rows as a table (default), JSON (`--json`) or TSV without a header (`--tsv`), like maxctrl's outputs. */
export type Format = 'table' | 'json' | 'tsv';

export type Row = Record<string, unknown>;

const cell = (v: unknown): string =>
  v === undefined || v === null
    ? ''
    : Array.isArray(v)
      ? v.map(cell).join(',')
      : typeof v === 'object'
        ? JSON.stringify(v)
        : String(v);

/** `raw` is what `--json` prints (the API's own answer); `rows`/`columns` what the table and TSV show. */
export function print(format: Format, raw: unknown, rows: Row[], columns: string[]): void {
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(raw, null, 2)}\n`);
    return;
  }
  const cells = rows.map((r) => columns.map((c) => cell(r[c]).replace(/[\t\n]/g, ' ')));
  if (format === 'tsv') {
    for (const line of cells) process.stdout.write(`${line.join('\t')}\n`);
    return;
  }
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((line) => line[i]!.length)));
  const line = (values: string[]) => `│ ${values.map((v, i) => v.padEnd(widths[i]!)).join(' │ ')} │`;
  const rule = (l: string, m: string, r: string) => `${l}${widths.map((w) => '─'.repeat(w + 2)).join(m)}${r}`;
  process.stdout.write(
    `${[rule('┌', '┬', '┐'), line(columns), rule('├', '┼', '┤'), ...cells.map(line), rule('└', '┴', '┘')].join('\n')}\n`,
  );
}

/** One object as two columns (field, value). */
export function printObject(format: Format, raw: Row, fields: [string, unknown][]): void {
  print(
    format,
    raw,
    fields.map(([field, value]) => ({ Field: field, Value: value })),
    ['Field', 'Value'],
  );
}
