// A line diff (longest common subsequence) for the version history: small texts, so the
// O(n·m) table is fine (entries are capped at 100 000 characters, lines far fewer).

export type DiffLine = { op: "same" | "add" | "del"; text: string };

export function diffLines(before: string, after: string): DiffLine[] {
  const a = before.split("\n");
  const b = after.split("\n");
  const n = a.length;
  const m = b.length;
  const table: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i][j] = a[i] === b[j] ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ op: "same", text: a[i] });
      i++;
      j++;
    } else if (table[i + 1][j] >= table[i][j + 1]) {
      out.push({ op: "del", text: a[i++] });
    } else {
      out.push({ op: "add", text: b[j++] });
    }
  }
  while (i < n) out.push({ op: "del", text: a[i++] });
  while (j < m) out.push({ op: "add", text: b[j++] });
  return out;
}

/** An entry snapshot as lines per field, so a diff reads field by field. */
export function asText(fields: Record<string, unknown>, names: string[]): string {
  return names
    .map((name) => {
      const v = fields[name];
      const text = Array.isArray(v)
        ? v.join("\n")
        : v && typeof v === "object"
          ? Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}: ${String(x)}`).join("\n")
          : String(v ?? "");
      return `## ${name}\n${text}`;
    })
    .join("\n");
}
