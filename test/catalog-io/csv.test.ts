import { describe, expect, it } from "vitest";
import { CsvSyntaxError, csvRow, neutraliseFormula, parseCsv, readCsv, restoreFormulaText } from "../../src/platform/csv";

function streamOf(...chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(typeof c === "string" ? encoder.encode(c) : c);
      controller.close();
    },
  });
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<{ line: number; fields: string[] }[]> {
  const out = [];
  for await (const r of readCsv(stream)) out.push(r);
  return out;
}

function syntaxErrorOf(fn: () => unknown): CsvSyntaxError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CsvSyntaxError) return error;
    throw error;
  }
  throw new Error("no CsvSyntaxError");
}

describe("CSV reader (RFC 4180)", () => {
  it("reads quoted cells with commas, doubled quotes and line ends, under LF, CRLF and lone CR", () => {
    const text = 'a,"b, c","say ""hi"""\r\n"multi\r\nline",,x\n"last"\rfinal,1';
    expect(parseCsv(text)).toEqual([
      { line: 1, fields: ["a", "b, c", 'say "hi"'] },
      { line: 2, fields: ["multi\r\nline", "", "x"] },
      { line: 4, fields: ["last"] },
      { line: 5, fields: ["final", "1"] },
    ]);
  });

  it("skips a byte order mark and blank lines, keeps an empty last cell", () => {
    expect(parseCsv("\ufeffh1,h2\n\n1,\n")).toEqual([
      { line: 1, fields: ["h1", "h2"] },
      { line: 3, fields: ["1", ""] },
    ]);
  });

  it("names the line of malformed quoting", () => {
    const stray = syntaxErrorOf(() => parseCsv('a,b\nc,d"e\n'));
    expect(stray.line).toBe(2);
    expect(stray.reason).toMatch(/quote inside an unquoted cell/);
    const after = syntaxErrorOf(() => parseCsv('a,b\n1,2\n"x"y,3\n'));
    expect(after.line).toBe(3);
    expect(after.reason).toMatch(/after the closing quote/);
    const open = syntaxErrorOf(() => parseCsv('a,b\n1,2\n3,"never closed\n4,5\n'));
    expect(open.line).toBe(3);
    expect(open.reason).toMatch(/never closed/);
  });

  it("refuses a cell or a row beyond the limits", () => {
    expect(syntaxErrorOf(() => parseCsv(`a\n${"x".repeat(20)}\n`, { maxFieldChars: 10 })).line).toBe(2);
    expect(syntaxErrorOf(() => parseCsv("a,b,c,d\n", { maxFields: 3 })).reason).toMatch(/more than 3 cells/);
  });

  it("streams across chunk boundaries that split a CRLF, a doubled quote, a BOM and a UTF-8 character", async () => {
    const bytes = new TextEncoder().encode('\ufeffh,"q""x"\r\né,"a\r\nb"\r\n');
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i++) chunks.push(bytes.slice(i, i + 1));
    expect(await readAll(streamOf(...chunks))).toEqual([
      { line: 1, fields: ["h", 'q"x'] },
      { line: 2, fields: ["é", "a\r\nb"] },
    ]);
  });

  it("refuses bytes that are not UTF-8 with the line they are on", async () => {
    const error = await readAll(streamOf("a,b\n1,2\n", new Uint8Array([0x33, 0xff, 0x0a]))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CsvSyntaxError);
    expect((error as CsvSyntaxError).reason).toMatch(/not UTF-8/);
  });
});

describe("CSV writer", () => {
  it("quotes what needs quoting and ends rows with CRLF; a written row reads back the same", () => {
    const cells = ["plain", "with, comma", 'a "quote"', "two\nlines", " edge ", ""];
    const row = csvRow(cells);
    expect(row.endsWith("\r\n")).toBe(true);
    expect(parseCsv(row)[0]!.fields).toEqual(cells);
  });

  it("neutralises cells a spreadsheet would run as formulas (OWASP), and the import restores them exactly", () => {
    for (const hostile of ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "＝1", "'=already", "''@x"]) {
      const out = neutraliseFormula(hostile);
      expect(out.startsWith("'"), hostile).toBe(true);
      expect(restoreFormulaText(out)).toBe(hostile);
      const [record] = parseCsv(csvRow([hostile]));
      expect(record!.fields[0]!.startsWith("'")).toBe(true);
    }
    for (const harmless of ["Mug", "'Tis the season", "5 - 3", ""]) {
      expect(neutraliseFormula(harmless)).toBe(harmless);
      expect(restoreFormulaText(harmless)).toBe(harmless);
    }
  });
});
